using System.Runtime.InteropServices;

namespace Grouper.Util;

/// <summary>
/// Writes a finished dataset through to the disk before it is committed. Without it, a commit's renames
/// can reach the disk before the files' data does, so that a power loss soon after leaves a committed
/// dataset of empty or partial files, and, when the build replaced one, the old dataset deleted. A killed
/// process needs none of this (the page cache survives it); a lost machine does.
/// </summary>
internal static partial class Durable
{
    /// <summary>Every file under <paramref name="folder"/>, then each folder (their entries), to the disk.</summary>
    public static void FlushTree(string folder)
    {
        Faults.Hit("sync");
        foreach (var file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories))
        {
            if (!OperatingSystem.IsWindows())
            {
                // Read-only: a merge's shards may be hard links to parts' files that are not writable.
                Sync(file);
                continue;
            }
            // Writable, or FileStream flushes nothing to the disk; the data is written already.
            using var fs = new FileStream(file, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, bufferSize: 0);
            fs.Flush(flushToDisk: true);
        }
        foreach (var dir in Directory.EnumerateDirectories(folder, "*", SearchOption.AllDirectories)) FlushFolder(dir);
        FlushFolder(folder);
    }

    /// <summary>
    /// A folder's entries (names made, renamed or removed in it) to the disk. Windows writes a rename's
    /// metadata through its journal and has no handle for this; elsewhere it is the folder's fsync.
    /// </summary>
    public static void FlushFolder(string folder)
    {
        if (!OperatingSystem.IsWindows()) Sync(folder);
    }

    // fsync of a file or folder opened read-only (a folder opens no other way; fsync needs no more).
    private static void Sync(string path)
    {
        int fd = open(path, 0 /* O_RDONLY */);
        if (fd < 0) throw new IOException($"Cannot open {path} to write it to the disk (errno {Marshal.GetLastPInvokeError()}).");
        try
        {
            if (fsync(fd) != 0) throw new IOException($"Cannot write {path} to the disk (errno {Marshal.GetLastPInvokeError()}).");
        }
        finally
        {
            _ = close(fd);
        }
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fsync(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);
}
