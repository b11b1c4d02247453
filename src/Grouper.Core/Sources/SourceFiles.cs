using System.IO.Compression;
using System.IO.Enumeration;
using Grouper.Schema;

namespace Grouper.Sources;

/// <summary>The input formats Grouper reads.</summary>
public enum SourceFormat { Csv, Tsv, JsonLines, Parquet }

/// <summary>Finds input files (a file, a folder, a wildcard) and opens them as record readers.</summary>
public static class SourceFiles
{
    private static readonly string[] Known = [".csv", ".tsv", ".tab", ".jsonl", ".ndjson", ".json", ".parquet", ".pq"];

    /// <summary>
    /// The files a path names: a file itself; every file of a known format inside a folder (recursively; a grouped
    /// dataset's manifest is not one: a dataset's folder is its shards); or the files matching a wildcard (* and ?
    /// in the last part; "**" as a folder part matches any depth).
    /// Folders and wildcards expand in ordinal order of their paths, so builds are deterministic.
    /// </summary>
    public static IReadOnlyList<string> Expand(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path);
        if (File.Exists(full)) return [full];
        if (Directory.Exists(full))
        {
            var files = Directory.EnumerateFiles(full, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.Hidden | FileAttributes.System })
                .Where(f => TryDetectFormat(f, out _) && !IsDatasetManifest(f))
                .Order(StringComparer.Ordinal)
                .ToList();
            if (files.Count == 0)
                throw new GrouperException(GrouperErrorKind.NotFound, $"The folder {full} holds no CSV, TSV, JSON Lines or Parquet files.", full);
            return files;
        }
        if (full.IndexOfAny(['*', '?']) >= 0)
        {
            var files = ExpandWildcard(full);
            if (files.Count == 0) throw new GrouperException(GrouperErrorKind.NotFound, $"No file matches {path}.", path);
            return files;
        }
        throw new GrouperException(GrouperErrorKind.NotFound, $"The input {full} does not exist.", full);
    }

    private static List<string> ExpandWildcard(string full)
    {
        // Split at the first folder part that holds a wildcard: everything before it is a real folder.
        var parts = full.Split(Path.DirectorySeparatorChar);
        int first = Array.FindIndex(parts, p => p.IndexOfAny(['*', '?']) >= 0);
        var root = string.Join(Path.DirectorySeparatorChar, parts[..first]);
        if (root.Length == 0) root = Path.DirectorySeparatorChar.ToString();
        if (!Directory.Exists(root)) return [];
        var rest = parts[first..];
        bool recursive = rest.Length > 1;
        return Directory.EnumerateFiles(root, "*", new EnumerationOptions { RecurseSubdirectories = recursive, AttributesToSkip = FileAttributes.Hidden | FileAttributes.System })
            .Where(f => Matches(Path.GetRelativePath(root, f).Split(Path.DirectorySeparatorChar), rest) && !IsDatasetManifest(f))
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    private static bool Matches(ReadOnlySpan<string> path, ReadOnlySpan<string> pattern)
    {
        if (pattern.Length == 0) return path.Length == 0;
        if (pattern[0] == "**")
        {
            for (int skip = 0; skip <= path.Length; skip++)
                if (Matches(path[skip..], pattern[1..])) return true;
            return false;
        }
        return path.Length > 0 && FileSystemName.MatchesSimpleExpression(pattern[0], path[0], ignoreCase: false) && Matches(path[1..], pattern[1..]);
    }

    /// <summary>The format of a file by its extension (".gz" allowed after text formats).</summary>
    public static SourceFormat DetectFormat(string path) =>
        TryDetectFormat(path, out var f) ? f : throw new GrouperException(GrouperErrorKind.InvalidArgument,
            $"Cannot tell the format of {path} from its extension; use .csv, .tsv, .jsonl, .ndjson, .json or .parquet (text formats may end in .gz), or name the format.", path);

    public static bool TryDetectFormat(string path, out SourceFormat format)
    {
        var name = path.ToLowerInvariant();
        bool gz = name.EndsWith(".gz", StringComparison.Ordinal);
        if (gz) name = name[..^3];
        var ext = Path.GetExtension(name);
        format = ext switch
        {
            ".csv" => SourceFormat.Csv,
            ".tsv" or ".tab" => SourceFormat.Tsv,
            ".jsonl" or ".ndjson" or ".json" => SourceFormat.JsonLines,
            ".parquet" or ".pq" when !gz => SourceFormat.Parquet,
            _ => (SourceFormat)(-1),
        };
        return Array.IndexOf(Known, ext) >= 0 && (int)format >= 0;
    }

    /// <summary>
    /// A grouped dataset's manifest (beside its index): not a JSON Lines input. A dataset's folder given as input (to
    /// group its records again by another key) is then its shards; its manifest, read as JSON Lines, stopped the build.
    /// </summary>
    private static bool IsDatasetManifest(string file) =>
        Path.GetFileName(file) == Format.DatasetManifest.FileName && Path.GetDirectoryName(file) is { } dir
        && Directory.EnumerateFiles(dir, "index*.gidx").Any();

    /// <summary>
    /// True when <paramref name="path"/> is <paramref name="folder"/> or inside it (at any depth): an input inside a
    /// build's destination is that dataset's own file (a folder given as input that holds the destination, read again
    /// by a rebuild with -Force), and a part that is a merge's destination is the merged dataset. Names compare as the
    /// file system does: by case on Linux only.
    /// </summary>
    public static bool IsWithin(string path, string folder)
    {
        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder));
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        var cmp = OperatingSystem.IsLinux() ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase;
        return full.StartsWith(root, cmp) && (full.Length == root.Length || full[root.Length] == Path.DirectorySeparatorChar || root.EndsWith(Path.DirectorySeparatorChar));
    }

    /// <summary>Opens one file as a record reader.</summary>
    public static RecordReader Open(string path, SourceFormat? format = null)
    {
        var full = Path.GetFullPath(path);
        var f = format ?? DetectFormat(full);
        if (!File.Exists(full)) throw new GrouperException(GrouperErrorKind.NotFound, $"The input {full} does not exist.", full);
        try
        {
            return f switch
            {
                SourceFormat.Csv => new CsvRecordReader(full, OpenText(full), ','),
                SourceFormat.Tsv => new CsvRecordReader(full, OpenText(full), '\t'),
                SourceFormat.JsonLines => new JsonLinesRecordReader(full, OpenText(full)),
                SourceFormat.Parquet => new ParquetRecordReader(full),
                _ => throw new ArgumentOutOfRangeException(nameof(format)),
            };
        }
        // A file the user may not read: the runtime's UnauthorizedAccessException stopped the build, naming no input.
        catch (Exception ex) when (ex is UnauthorizedAccessException or FileNotFoundException or DirectoryNotFoundException)
        {
            throw new GrouperException(GrouperErrorKind.ReadFailed, $"Cannot read the input {full}: {ex.Message}", full, inner: ex);
        }
    }

    /// <summary>The column names of a file, for completion and previews; reads only its header or schema.</summary>
    public static IReadOnlyList<string> ReadColumnNames(string path, SourceFormat? format = null)
    {
        using var r = Open(path, format);
        if (r.IsSchemaFlexible) r.Read();
        return Enumerable.Range(0, r.FieldCount).Select(r.GetName).ToList();
    }

    private static Stream OpenText(string path)
    {
        Stream s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        if (path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)) s = new GZipStream(s, CompressionMode.Decompress);
        return s;
    }
}
