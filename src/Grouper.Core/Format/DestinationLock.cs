namespace Grouper.Format;

/// <summary>
/// One writer per destination: an exclusive lock on ".&lt;name&gt;.grouper-lock" beside it. The operating
/// system drops the lock when the holder dies, so a crashed build never blocks the next one.
/// </summary>
internal sealed class DestinationLock : IDisposable
{
    private readonly FileStream _file;
    private readonly List<string> _created;

    private DestinationLock(FileStream file, List<string> created) => (_file, _created) = (file, created);

    /// <summary>
    /// The lock of <paramref name="destination"/>, its parent folders made if need be. Another writer holding it is
    /// <see cref="GrouperErrorKind.ResourceBusy"/>; a folder that cannot be written beside the destination is
    /// <see cref="GrouperErrorKind.WriteFailed"/> (for every writer alike: a merge's and an import's came out as the
    /// runtime's exceptions).
    /// </summary>
    public static DestinationLock Acquire(string destination)
    {
        var parent = Path.GetDirectoryName(destination)!;
        // The folders made here, deepest first, for Dispose.
        var created = new List<string>();
        for (var dir = parent; !string.IsNullOrEmpty(dir) && !Directory.Exists(dir); dir = Path.GetDirectoryName(dir)) created.Add(dir);
        var path = Path.Combine(parent, $".{Path.GetFileName(destination)}.grouper-lock");
        try
        {
            for (int attempt = 1; ; attempt++)
            {
                Directory.CreateDirectory(parent);
                try { return new DestinationLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose), created); }
                // The folder made by another writer that failed and removed it again between the two lines above (Dispose).
                catch (DirectoryNotFoundException) when (attempt < 3) { }
            }
        }
        catch (IOException ex) when (File.Exists(path))
        {
            throw new GrouperException(GrouperErrorKind.ResourceBusy,
                $"Another Grouper process is writing {destination} (it holds {path}). Wait for it to finish, or choose another destination.", destination, inner: ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            RemoveEmpty(created);
            throw new GrouperException(GrouperErrorKind.WriteFailed, $"Cannot write beside {destination}: {ex.Message}", destination, inner: ex);
        }
    }

    /// <summary>
    /// Lets the lock go, and the folders it made for itself when they are empty again: a build into a/b/out that
    /// failed left a/b behind. A committed dataset (or anything another process put there since) keeps them.
    /// </summary>
    public void Dispose()
    {
        _file.Dispose();
        RemoveEmpty(_created);
    }

    // The folders made for a lock, deepest first, as long as they are empty.
    private static void RemoveEmpty(List<string> created)
    {
        foreach (var dir in created)
        {
            try { Directory.Delete(dir); } // not recursive: a folder that holds anything stays, and so do those above it
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { break; }
        }
    }
}
