namespace Grouper.Format;

/// <summary>
/// One writer per destination: an exclusive lock on ".&lt;name&gt;.grouper-lock" beside it. The operating
/// system drops the lock when the holder dies, so a crashed build never blocks the next one.
/// </summary>
internal sealed class DestinationLock : IDisposable
{
    private readonly FileStream _file;

    private DestinationLock(FileStream file) => _file = file;

    public static DestinationLock Acquire(string destination)
    {
        var parent = Path.GetDirectoryName(destination)!;
        Directory.CreateDirectory(parent);
        var path = Path.Combine(parent, $".{Path.GetFileName(destination)}.grouper-lock");
        try
        {
            return new DestinationLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose));
        }
        catch (IOException ex) when (File.Exists(path))
        {
            throw new GrouperException(GrouperErrorKind.ResourceBusy,
                $"Another Grouper process is writing {destination} (it holds {path}). Wait for it to finish, or choose another destination.", destination, inner: ex);
        }
    }

    public void Dispose() => _file.Dispose();
}
