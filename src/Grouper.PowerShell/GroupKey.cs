using Grouper.Keys;

namespace Grouper.PowerShell;

/// <summary>
/// A group's key as Get-Group and Get-GroupRecord take it: text, or a number, date, boolean or GUID in the
/// canonical text a build gives such a key column (<see cref="KeyText.Format(object)"/>).
/// </summary>
/// <remarks>
/// The parameter is of this type, not string, for the pipeline's sake: PowerShell converts any object to a string,
/// so a string parameter that takes pipeline input took a piped dataset or folder (anything with a PSPath) as a
/// key by its text. Nothing but these constructors converts to a key, so such an object binds -LiteralPath or
/// -Dataset alone, and an object given as -Key on the command line is refused when it is bound.
/// </remarks>
public sealed class GroupKey
{
    public GroupKey(string text) => Text = text ?? "";
    public GroupKey(int value) => Text = KeyText.Format(value);
    public GroupKey(long value) => Text = KeyText.Format(value);
    public GroupKey(ulong value) => Text = KeyText.Format(value);
    public GroupKey(double value) => Text = KeyText.Format(value);
    public GroupKey(float value) => Text = KeyText.Format(value);
    public GroupKey(decimal value) => Text = KeyText.Format(value);
    public GroupKey(bool value) => Text = KeyText.Format(value);
    public GroupKey(DateTime value) => Text = KeyText.Format(value);
    public GroupKey(DateTimeOffset value) => Text = KeyText.Format(value);
    public GroupKey(Guid value) => Text = KeyText.Format(value);

    /// <summary>The canonical key text, as the dataset's index holds it.</summary>
    public string Text { get; }

    public override string ToString() => Text;
}
