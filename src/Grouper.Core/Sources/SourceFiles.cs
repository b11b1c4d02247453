using System.IO.Compression;
using System.IO.Enumeration;
using Grouper.Schema;

namespace Grouper.Sources;

/// <summary>The input formats Grouper reads.</summary>
public enum SourceFormat { Csv, Tsv, JsonLines, Parquet }

/// <summary>
/// How input files are read: their format (null: each file's by its extension) and, for delimited text, the
/// delimiter and the quoting. A delimiter or quoting given makes every input delimited text: with no format
/// named, a file whose extension says JSON Lines or Parquet is refused, and a .txt file is read (with a delimiter).
/// </summary>
public sealed record SourceOptions
{
    /// <summary>The format of every file; null to tell each by its extension.</summary>
    public SourceFormat? Format { get; init; }

    /// <summary>The field delimiter of delimited text; null for the format's own (',' for CSV, tab for TSV).</summary>
    public char? Delimiter { get; init; }

    public CsvQuoting Quoting { get; init; }

    public static SourceOptions Default { get; } = new();

    /// <summary>True when a delimiter or quoting is given: the inputs are delimited text.</summary>
    public bool SaysDelimitedText => Delimiter is not null || Quoting != CsvQuoting.Standard;

    /// <summary>Options that only name a format (null: by extension).</summary>
    public static SourceOptions Of(SourceFormat? format) => format is null ? Default : new() { Format = format };
}

/// <summary>Finds input files (a file, a folder, a wildcard) and opens them as record readers.</summary>
public static class SourceFiles
{
    private static readonly string[] Known = [".csv", ".tsv", ".tab", ".jsonl", ".ndjson", ".json", ".parquet", ".pq"];

    /// <summary>
    /// The files a path names: a file itself; the input files inside a folder (recursively; hidden and system files
    /// are not, nor is a grouped dataset's manifest or index: a dataset's folder is its shards); or the files matching
    /// a wildcard (* and ? in the last part; "**" as a folder part matches any depth).
    /// Folders and wildcards expand in ordinal order of their paths, so builds are deterministic.
    /// </summary>
    /// <remarks>
    /// A folder's input files are, by default, those of a known extension. With a format named
    /// (<see cref="SourceOptions.Format"/>) the user says what the files are: every file is read in that format
    /// (data.txt as CSV) except files whose extension names a format of another kind (.jsonl or .parquet files
    /// beside CSV files, CSV files beside Parquet ones; CSV and TSV are one kind, delimited text), and names that
    /// begin with a dot (hidden on Unix; Grouper's own work and lock files). With a delimiter or quoting and no
    /// format, a folder's delimited text files are read: .csv, .tsv, .tab, and .txt when the delimiter is given.
    /// </remarks>
    public static IReadOnlyList<string> Expand(string path, SourceOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= SourceOptions.Default;
        var full = Path.GetFullPath(path);
        if (File.Exists(full)) return [full];
        if (Directory.Exists(full))
        {
            var files = Directory.EnumerateFiles(full, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.Hidden | FileAttributes.System })
                .Where(f => IsFolderInput(full, f, options) && !IsDatasetManifest(f))
                .Order(StringComparer.Ordinal)
                .ToList();
            if (files.Count == 0)
                throw new GrouperException(GrouperErrorKind.NotFound, $"The folder {full} holds no {FolderInputs(options)}.", full);
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

    /// <summary>Whether a file found in a folder given as input is an input under <paramref name="options"/> (see <see cref="Expand"/>).</summary>
    private static bool IsFolderInput(string folder, string file, SourceOptions options)
    {
        bool known = TryDetectFormat(file, out var format);
        if (options.Format is { } named)
        {
            if (Path.GetRelativePath(folder, file).Split(Path.DirectorySeparatorChar).Any(part => part.StartsWith('.'))) return false;
            if (Path.GetExtension(file).Equals(GroupIndexExtension, StringComparison.OrdinalIgnoreCase)) return false;
            return KindByExtension(file) is not { } kind || kind == KindOf(named);
        }
        if (options.SaysDelimitedText)
            return known ? KindOf(format) == FormatKind.DelimitedText : options.Delimiter is not null && IsTxt(file);
        return known;
    }

    private static string FolderInputs(SourceOptions options) => options switch
    {
        { Format: { } f } => $"files to read as {Name(f)} (files whose extension names another format, and names that begin with a dot, are not read)",
        { Delimiter: not null } => ".csv, .tsv, .tab or .txt files",
        { SaysDelimitedText: true } => "CSV or TSV files",
        _ => "CSV, TSV, JSON Lines or Parquet files",
    };

    private const string GroupIndexExtension = ".gidx";

    private enum FormatKind { DelimitedText, JsonLines, Parquet }

    /// <summary>The kind of format a file's extension names (after a .gz), known to this reader or not (a .parquet.gz file).</summary>
    private static FormatKind? KindByExtension(string path)
    {
        var name = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? path[..^3] : path;
        return Path.GetExtension(name).ToLowerInvariant() switch
        {
            ".csv" or ".tsv" or ".tab" => FormatKind.DelimitedText,
            ".jsonl" or ".ndjson" or ".json" => FormatKind.JsonLines,
            ".parquet" or ".pq" => FormatKind.Parquet,
            _ => null,
        };
    }

    private static FormatKind KindOf(SourceFormat f) => f switch
    {
        SourceFormat.Csv or SourceFormat.Tsv => FormatKind.DelimitedText,
        SourceFormat.JsonLines => FormatKind.JsonLines,
        _ => FormatKind.Parquet,
    };

    /// <summary>The format's name in messages.</summary>
    public static string Name(SourceFormat f) => f switch
    {
        SourceFormat.Csv => "CSV",
        SourceFormat.Tsv => "TSV",
        SourceFormat.JsonLines => "JSON Lines",
        _ => "Parquet",
    };

    /// <summary>A .txt file (.txt.gz too): delimited text when a delimiter is given.</summary>
    private static bool IsTxt(string path)
    {
        var name = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? path[..^3] : path;
        return Path.GetExtension(name).Equals(".txt", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// The format a file is read in under <paramref name="options"/>: the named one; else by extension, where a
    /// delimiter or quoting given makes .txt files delimited text and refuses JSON Lines and Parquet files.
    /// </summary>
    public static SourceFormat FormatOf(string path, SourceOptions? options = null)
    {
        options ??= SourceOptions.Default;
        if (options.Format is { } named)
            return KindOf(named) == FormatKind.DelimitedText || !options.SaysDelimitedText ? named : throw new GrouperException(GrouperErrorKind.InvalidArgument,
                $"A delimiter and quoting are for delimited text (CSV, TSV), not {Name(named)}.", path);
        if (!options.SaysDelimitedText) return DetectFormat(path);
        if (TryDetectFormat(path, out var f))
            return KindOf(f) == FormatKind.DelimitedText ? f : throw new GrouperException(GrouperErrorKind.InvalidArgument,
                $"{path} is a {Name(f)} file by its extension; a delimiter and quoting are for delimited text (CSV, TSV). Name the format to read it as delimited text anyway.", path);
        if (options.Delimiter is not null && IsTxt(path)) return SourceFormat.Csv;
        throw new GrouperException(GrouperErrorKind.InvalidArgument,
            $"Cannot tell the format of {path} from its extension; delimited text is .csv, .tsv, .tab{(options.Delimiter is null ? "" : " or .txt")} (and .gz), or name the format.", path);
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
    public static RecordReader Open(string path, SourceFormat? format = null) => Open(path, SourceOptions.Of(format));

    /// <summary>Opens one file as a record reader, in the format, delimiter and quoting <paramref name="options"/> give.</summary>
    public static RecordReader Open(string path, SourceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var full = Path.GetFullPath(path);
        var f = FormatOf(full, options);
        if (options.Delimiter is { } d && !CsvRecordReader.IsValidDelimiter(d))
            throw new GrouperException(GrouperErrorKind.InvalidArgument, $"The delimiter {DescribeChar(d)} cannot separate fields: it must be an ASCII character other than a quote or a line break.", full);
        if (!File.Exists(full)) throw new GrouperException(GrouperErrorKind.NotFound, $"The input {full} does not exist.", full);
        try
        {
            return f switch
            {
                SourceFormat.Csv => new CsvRecordReader(full, OpenText(full), options.Delimiter ?? ',', options.Quoting),
                SourceFormat.Tsv => new CsvRecordReader(full, OpenText(full), options.Delimiter ?? '\t', options.Quoting),
                SourceFormat.JsonLines => new JsonLinesRecordReader(full, OpenText(full)),
                SourceFormat.Parquet => new ParquetRecordReader(full),
                _ => throw new ArgumentOutOfRangeException(nameof(options)),
            };
        }
        // A file the user may not read: the runtime's UnauthorizedAccessException stopped the build, naming no input.
        catch (Exception ex) when (ex is UnauthorizedAccessException or FileNotFoundException or DirectoryNotFoundException)
        {
            throw new GrouperException(GrouperErrorKind.ReadFailed, $"Cannot read the input {full}: {ex.Message}", full, inner: ex);
        }
    }

    /// <summary>A character as messages show it: 'x', with its code point when it is not ASCII, or only that when it is a control character.</summary>
    public static string DescribeChar(char c) => c is >= ' ' and < (char)0x7F ? $"'{c}'" : char.IsControl(c) || char.IsSurrogate(c) ? $"U+{(int)c:X4}" : $"'{c}' (U+{(int)c:X4})";

    /// <summary>The column names of a file, for completion and previews; reads only its header or schema.</summary>
    public static IReadOnlyList<string> ReadColumnNames(string path, SourceFormat? format = null) => ReadColumnNames(path, SourceOptions.Of(format));

    /// <summary>The column names of a file read with <paramref name="options"/>; reads only its header or schema.</summary>
    public static IReadOnlyList<string> ReadColumnNames(string path, SourceOptions options)
    {
        using var r = Open(path, options);
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
