using Grouper.Util;

namespace Grouper.Format;

/// <summary>The last step of a build: moving the finished folder to its destination.</summary>
internal static class DatasetCommit
{
    /// <summary>
    /// A destination's full path without a trailing separator: "out/" is the folder out, as a shell's completion
    /// writes it. With the separator its name was empty and its parent the destination itself, so a build worked
    /// inside it and could not commit (a new one was refused as "not a Grouper dataset" and left an empty folder;
    /// a replacement failed with "Invalid argument").
    /// </summary>
    public static string FullPath(string destination) => Path.TrimEndingDirectorySeparator(Path.GetFullPath(destination));

    /// <summary>The start of the name of every work folder for a destination named <paramref name="name"/>: how <see cref="Recover"/> knows them.</summary>
    private static string WorkPrefix(string name) => $".{name}.grouper-tmp-";

    /// <summary>A new work folder's path in <paramref name="parent"/>, for the destination named <paramref name="name"/>: this process's and this call's own.</summary>
    public static string NewWorkFolder(string parent, string name) =>
        Path.Combine(parent, $"{WorkPrefix(name)}{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}");

    /// <summary>
    /// Cleans up after writers of <paramref name="destination"/> that died: a dataset set aside by an
    /// interrupted replacement goes back if the destination is missing (else it is deleted), and work
    /// folders of dead builds are deleted. Call it holding the destination's lock. Returns what it did.
    /// </summary>
    public static List<string> Recover(string destination)
    {
        var done = new List<string>();
        var parent = Path.GetDirectoryName(destination)!;
        if (!Directory.Exists(parent)) return done;
        var name = Path.GetFileName(destination);
        // One listing of the parent for both kinds of leftovers (a listing of a large folder, a home or /tmp of hundreds
        // of entries, costs milliseconds of every build's start). The pattern only narrows it: made from the name, it
        // matches other destinations' folders when the name holds ? or *, and deleting those lost a live build's
        // work; the exact prefixes decide.
        List<string>? asides = null, works = null;
        string oldPrefix = $".{name}.grouper-old-", tmpPrefix = WorkPrefix(name);
        foreach (var dir in Directory.EnumerateDirectories(parent, $".{name}.grouper-*"))
        {
            var leaf = Path.GetFileName(dir.AsSpan());
            if (leaf.StartsWith(oldPrefix, StringComparison.Ordinal)) (asides ??= []).Add(dir);
            else if (leaf.StartsWith(tmpPrefix, StringComparison.Ordinal)) (works ??= []).Add(dir);
        }
        asides?.Sort(StringComparer.Ordinal);
        foreach (var aside in asides ?? [])
        {
            if (!Directory.Exists(destination) && File.Exists(Path.Combine(aside, DatasetManifest.FileName)))
            {
                Directory.Move(aside, destination);
                done.Add($"Restored the dataset at {destination} that an interrupted replacement had set aside ({aside}).");
            }
            else
            {
                TryDelete(aside);
                done.Add($"Deleted {aside}, left by an interrupted replacement of {destination}.");
            }
        }
        // Whoever holds the lock is the only live writer: every other work folder is a dead build's.
        foreach (var work in works ?? [])
        {
            if (SpillFolderOf(work) is { } spill)
            {
                TryDelete(spill);
                done.Add($"Deleted {spill}, the spill folder of an interrupted build of {destination}.");
            }
            TryDelete(work);
            done.Add($"Deleted {work}, left by an interrupted build of {destination}.");
        }
        return done;
    }

    /// <summary>In a build's work folder: the full path of its spill folder when that is outside the work folder.</summary>
    internal const string SpillLocationFile = "spill-location";

    // The spill folder a dead build named in its work folder: trusted only if it bears the work folder's own
    // (unique) name, so that a damaged or planted file cannot point the deletion at anything else.
    private static string? SpillFolderOf(string work)
    {
        try
        {
            var file = Path.Combine(work, SpillLocationFile);
            if (!File.Exists(file) || new FileInfo(file).Length > 32 << 10) return null;
            var spill = File.ReadAllText(file).Trim();
            return Path.IsPathFullyQualified(spill) && Path.GetFileName(spill) == Path.GetFileName(work) && Directory.Exists(spill) ? spill : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }

    private static void TryDelete(string dir)
    {
        try { Directory.Delete(dir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>
    /// Replacing is for datasets: a folder that is neither empty nor a Grouper dataset (a home folder
    /// given by mistake) is never deleted.
    /// </summary>
    public static void EnsureReplaceable(string destination)
    {
        if (!Directory.Exists(destination) || !Directory.EnumerateFileSystemEntries(destination).Any()) return;
        var manifest = Path.Combine(destination, DatasetManifest.FileName);
        bool isDataset = false;
        try
        {
            if (File.Exists(manifest) && new FileInfo(manifest).Length < 64 << 20)
                isDataset = File.ReadAllText(manifest).Contains($"\"{DatasetManifest.FormatName}\"", StringComparison.Ordinal);
        }
        catch (IOException) { }
        if (!isDataset)
            throw new GrouperException(GrouperErrorKind.DestinationExists,
                $"The destination {destination} exists and is not a Grouper dataset; it is not replaced. Choose another destination or empty it.", destination);
    }

    /// <summary>
    /// Moves <paramref name="work"/> to <paramref name="destination"/>. An existing destination is first
    /// renamed aside and deleted only after the new dataset is in place, and on the disk, so a failure (or
    /// a power loss) leaves the old one. <paramref name="durable"/>: a new dataset is written through to the
    /// disk before it is committed too (<see cref="Durable"/>).
    /// </summary>
    public static void MoveIntoPlace(string work, string destination, bool overwrite, bool durable = false)
    {
        Grouper.Util.Faults.Hit("commit");
        var parent = Path.GetDirectoryName(destination)!;
        if (!Directory.Exists(destination) && !File.Exists(destination))
        {
            if (durable) Durable.FlushTree(work);
            Directory.Move(work, destination);
            if (durable) Durable.FlushFolder(parent);
            return;
        }
        if (!overwrite)
            throw new GrouperException(GrouperErrorKind.DestinationExists, $"The destination {destination} appeared while the build ran; it was left as it is.", destination);
        if (File.Exists(destination))
            throw new GrouperException(GrouperErrorKind.DestinationExists, $"The destination {destination} is a file, not a dataset folder.", destination);
        EnsureReplaceable(destination);
        // Replacing deletes the old dataset: always on the disk first, whatever durable says.
        Durable.FlushTree(work);
        var aside = Path.Combine(parent, $".{Path.GetFileName(destination)}.grouper-old-{Guid.NewGuid():N}"[..^24]);
        Grouper.Util.Faults.Hit("commit-replace");
        Directory.Move(destination, aside);
        // A crash here leaves the old dataset aside and the new one complete in the work folder: the next
        // writer of this destination puts the old one back (Recover).
        Grouper.Util.Faults.Hit("commit-aside");
        try
        {
            Directory.Move(work, destination);
        }
        catch
        {
            Directory.Move(aside, destination);
            throw;
        }
        // Both renames on the disk before the old dataset goes.
        Durable.FlushFolder(parent);
        try { Directory.Delete(aside, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
