using System.Management.Automation;
using Grouper.Format;
using Grouper.Reading;
using Grouper.Writer;

namespace Grouper.PowerShell;

/// <summary>What the cmdlets share: provider paths, error records from Core's exceptions, conversions.</summary>
public abstract class GrouperCmdlet : PSCmdlet
{
    /// <summary>
    /// A build's progress as a progress record: <paramref name="reading"/> while it reads (the reading source, or
    /// <paramref name="readingFrom"/>, as its operation) with how much of the input is read where the build
    /// knows (<see cref="BuildProgress.ReadFraction"/>), the records written and a percentage while it writes;
    /// the seconds the phase should still take, once its pace says something (<see cref="BuildProgress.PhaseRemaining"/>).
    /// </summary>
    protected static ProgressRecord BuildProgressRecord(int id, string activity, BuildProgress p, string reading, string? readingFrom) =>
        new(id, activity, p.Phase switch
        {
            BuildPhase.Reading => reading,
            BuildPhase.Writing => $"Wrote {p.RecordsWritten:N0} of {p.RecordsRead:N0} records in {p.GroupsWritten:N0} groups",
            _ => $"{p.Phase}: {p.RecordsRead:N0} records",
        })
        {
            CurrentOperation = p.CurrentSource ?? (p.Phase == BuildPhase.Reading && readingFrom is not null ? readingFrom : p.Phase.ToString()),
            PercentComplete = p.PhaseFraction >= 0 ? (int)(100 * p.PhaseFraction) : -1,
            // Of the phase the record shows, as its percentage is: at the pace the phase has gone so far.
            SecondsRemaining = p.PhaseRemaining is { } left ? (int)Math.Ceiling(left.TotalSeconds) : -1,
        };

    /// <summary>Core's progress handed to a cmdlet's method: Core reports on the thread that called it, the pipeline's.</summary>
    protected sealed class PipelineProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    /// <summary>What a build's progress says it has read: records, and megabytes of how many where it knows.</summary>
    protected static string ReadSoFar(BuildProgress p) =>
        $"Read {p.RecordsRead:N0} records, {p.BytesRead / 1048576.0:N1}{(p.InputBytes > 0 ? $" of {p.InputBytes / 1048576.0:N1}" : "")} MB";

    /// <summary>
    /// Resolves -Path (wildcards) or -LiteralPath to file-system paths. A path of another provider, or one
    /// that matches nothing, is reported with WriteError and skipped, and counted in <see cref="UnresolvedInputs"/>.
    /// </summary>
    protected List<string> ResolveInputPaths(IEnumerable<string> paths, bool literal)
    {
        var result = new List<string>();
        foreach (var p in paths)
        {
            int before = result.Count;
            try
            {
                if (literal)
                {
                    var full = SessionState.Path.GetUnresolvedProviderPathFromPSPath(p, out var provider, out _);
                    if (!IsFileSystem(provider, p)) continue;
                    if (!File.Exists(full) && !Directory.Exists(full))
                    {
                        WriteError(new ErrorRecord(new ItemNotFoundException($"Cannot find path '{full}' because it does not exist."),
                            "PathNotFound", ErrorCategory.ObjectNotFound, p));
                        continue;
                    }
                    result.Add(full);
                }
                else
                {
                    var resolved = GetResolvedProviderPathFromPSPath(p, out var provider);
                    if (!IsFileSystem(provider, p)) continue;
                    if (resolved.Count == 0 && WildcardPattern.ContainsWildcardCharacters(p))
                        WriteError(new ErrorRecord(new ItemNotFoundException($"No file matches '{p}'."), "PathNotFound", ErrorCategory.ObjectNotFound, p));
                    result.AddRange(resolved);
                }
            }
            catch (ItemNotFoundException ex)
            {
                WriteError(new ErrorRecord(ex, "PathNotFound", ErrorCategory.ObjectNotFound, p));
            }
            catch (System.Management.Automation.DriveNotFoundException ex)
            {
                WriteError(new ErrorRecord(ex, "DriveNotFound", ErrorCategory.ObjectNotFound, p));
            }
            catch (ProviderNotFoundException ex)
            {
                WriteError(new ErrorRecord(ex, "ProviderNotFound", ErrorCategory.ObjectNotFound, p));
            }
            finally
            {
                if (result.Count == before) UnresolvedInputs++; // each way to resolve nothing wrote its error above
            }
        }
        return result;
    }

    /// <summary>
    /// How many of the paths given to <see cref="ResolveInputPaths"/> resolved to nothing (each reported): a command
    /// that writes a dataset from them must not commit one that silently lacks them.
    /// </summary>
    protected int UnresolvedInputs { get; private set; }

    private bool IsFileSystem(ProviderInfo provider, string path)
    {
        if (provider.Name == "FileSystem") return true;
        WriteError(new ErrorRecord(new PSArgumentException($"'{path}' is a {provider.Name} path; Grouper reads and writes files only."),
            "NotFileSystemPath", ErrorCategory.InvalidArgument, path));
        return false;
    }

    /// <summary>
    /// Ends the command when one of <paramref name="dependents"/> is given without <paramref name="needed"/>, which it
    /// modifies (-Side without a fraction read every group, as if no split had been asked for).
    /// </summary>
    protected void RequireWith(string needed, bool neededGiven, params string[] dependents)
    {
        if (neededGiven) return;
        foreach (var name in dependents)
            if (MyInvocation.BoundParameters.ContainsKey(name))
                ThrowTerminatingError(new ErrorRecord(new PSArgumentException($"-{name} applies with -{needed}, which is not given."),
                    "ParameterNeeds" + needed, ErrorCategory.InvalidArgument, null));
    }

    /// <summary>An output path (which may not exist yet) as a file-system path; a path of another provider ends the command.</summary>
    protected string ResolveOutputPath(string path, string errorId)
    {
        var full = SessionState.Path.GetUnresolvedProviderPathFromPSPath(path, out var provider, out _);
        if (provider.Name != "FileSystem")
            ThrowTerminatingError(new ErrorRecord(new PSArgumentException($"'{path}' is a {provider.Name} path; Grouper writes to the file system only."),
                errorId, ErrorCategory.InvalidArgument, path));
        // out/ (as tab completion writes a folder) is the folder out: the output's Path said "out/".
        return System.IO.Path.TrimEndingDirectorySeparator(full);
    }

    protected static ErrorCategory CategoryOf(GrouperErrorKind kind) => kind switch
    {
        GrouperErrorKind.InvalidData or GrouperErrorKind.SchemaMismatch or GrouperErrorKind.InvalidKey or GrouperErrorKind.InvalidDataset => ErrorCategory.InvalidData,
        GrouperErrorKind.MissingColumn => ErrorCategory.InvalidArgument,
        GrouperErrorKind.DestinationExists => ErrorCategory.ResourceExists,
        GrouperErrorKind.NotFound => ErrorCategory.ObjectNotFound,
        GrouperErrorKind.ResourceBusy => ErrorCategory.ResourceBusy,
        GrouperErrorKind.WriteFailed => ErrorCategory.WriteError,
        GrouperErrorKind.ReadFailed => ErrorCategory.ReadError,
        _ => ErrorCategory.InvalidArgument,
    };

    /// <summary>An ErrorRecord for a Core failure: id "prefix.Kind", the fitting category, the file as target.</summary>
    protected static ErrorRecord ToErrorRecord(GrouperException ex, string idPrefix, object? target) =>
        new(ex, $"{idPrefix}.{ex.Kind}", CategoryOf(ex.Kind), ex.SourceName ?? target);

    internal static GroupedDatasetInfo ToInfo(string path, DatasetManifest m) => new()
    {
        Path = path,
        FormatVersion = m.FormatVersion,
        GroupCount = m.GroupCount,
        RecordCount = m.RecordCount,
        ByteCount = m.ByteCount,
        LargestGroupRecords = m.LargestGroupRecords,
        Key = m.Key.Description,
        KeyColumns = m.Key.Columns.ToArray(),
        Columns = m.Schema.Select(c => c.Name).ToArray(),
        ShardCount = m.Shards.Count,
        SizeOnDisk = m.Shards.Sum(s => s.Bytes) + m.Index.Bytes,
        Sources = m.Sources.Select(s => s.Path).ToArray(),
        Stats = m.Stats,
        Manifest = m,
    };

    /// <summary>
    /// The texts of the keys bound to -Key, or null when it is not bound. A null key ($null piped in: a missing
    /// property, say) is reported and skipped: no group has one, and taken for no -Key it gave every group.
    /// </summary>
    protected List<string>? BoundKeys(GroupKey?[]? keys)
    {
        if (!MyInvocation.BoundParameters.ContainsKey("Key")) return null;
        var texts = new List<string>();
        foreach (var k in keys ?? [null])
        {
            if (k is not null) texts.Add(k.Text);
            else WriteError(new ErrorRecord(new PSArgumentNullException("Key", "A key is null, and no group's key is: was a value missing where a key was piped in?"),
                "NullKey", ErrorCategory.InvalidArgument, null));
        }
        return texts;
    }

    internal static GroupEntry ToEntry(string datasetPath, GroupInfo g, long position = 0, int? round = null) => new()
    {
        Position = position,
        Round = round,
        Key = g.Key,
        RecordCount = g.RecordCount,
        ByteCount = g.ByteCount,
        Ordinal = g.Ordinal,
        Shard = g.Shard,
        RowOffset = g.RowOffset,
        DatasetPath = datasetPath,
    };
}

/// <summary>Cmdlets about existing datasets: -Path (wildcards) or -LiteralPath (PSPath, by property name).</summary>
public abstract class DatasetPathCmdlet : GrouperCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = "Path")]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = [];

    [Parameter(Mandatory = true, ParameterSetName = "LiteralPath", ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = [];

    /// <summary>
    /// The dataset folders named by -Path or -LiteralPath; bad ones are reported and skipped. Resolved again only when
    /// the paths change (a dataset piped in by PSPath): keys piped in with the same path reported a path that matched
    /// nothing once for each key.
    /// </summary>
    protected List<string> ResolveDatasetPaths()
    {
        var given = ParameterSetName == "LiteralPath" ? LiteralPath : Path;
        if (_resolved is not null && given.SequenceEqual(_resolvedFrom!, StringComparer.Ordinal)) return _resolved;
        _resolvedFrom = given.ToArray();
        return _resolved = ParameterSetName == "LiteralPath" ? ResolveInputPaths(LiteralPath, literal: true) : ResolveInputPaths(Path, literal: false);
    }

    private List<string>? _resolved;
    private string[]? _resolvedFrom;
}

/// <summary>Open datasets by path, for cmdlets that take many groups from the pipeline.</summary>
internal sealed class DatasetCache : IDisposable
{
    private readonly Dictionary<string, GroupedDataset> _open = new(StringComparer.Ordinal);

    /// <summary>
    /// The dataset at <paramref name="path"/>, opened once. A relative path (a piped group's DatasetPath, a hashtable's
    /// Path) is PowerShell's current location's, as -Path's is: it was the process's working folder, which pwsh does
    /// not move with Set-Location.
    /// </summary>
    public GroupedDataset Get(string path, SessionState session)
    {
        if (!System.IO.Path.IsPathFullyQualified(path))
        {
            var resolved = session.Path.GetUnresolvedProviderPathFromPSPath(path, out var provider, out _);
            if (provider.Name != "FileSystem")
                throw new GrouperException(GrouperErrorKind.InvalidArgument, $"'{path}' is a {provider.Name} path; Grouper reads files only.", path);
            path = resolved;
        }
        if (!_open.TryGetValue(path, out var ds)) _open[path] = ds = GroupedDataset.Open(path);
        return ds;
    }

    public void Dispose()
    {
        foreach (var ds in _open.Values) ds.Dispose();
        _open.Clear();
    }
}
