namespace Grouper.Format;

/// <summary>The last step of a build: moving the finished folder to its destination.</summary>
internal static class DatasetCommit
{
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
    /// renamed aside and deleted only after the new dataset is in place, so a failure leaves the old one.
    /// </summary>
    public static void MoveIntoPlace(string work, string destination, bool overwrite)
    {
        if (!Directory.Exists(destination) && !File.Exists(destination))
        {
            Directory.Move(work, destination);
            return;
        }
        if (!overwrite)
            throw new GrouperException(GrouperErrorKind.DestinationExists, $"The destination {destination} appeared while the build ran; it was left as it is.", destination);
        if (File.Exists(destination))
            throw new GrouperException(GrouperErrorKind.DestinationExists, $"The destination {destination} is a file, not a dataset folder.", destination);
        EnsureReplaceable(destination);
        var aside = Path.Combine(Path.GetDirectoryName(destination)!, $".{Path.GetFileName(destination)}.grouper-old-{Guid.NewGuid():N}"[..^24]);
        Directory.Move(destination, aside);
        try
        {
            Directory.Move(work, destination);
        }
        catch
        {
            Directory.Move(aside, destination);
            throw;
        }
        try { Directory.Delete(aside, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
