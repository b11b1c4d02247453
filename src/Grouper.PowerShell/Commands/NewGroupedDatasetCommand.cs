using System.Collections;
using System.Collections.Specialized;
using System.Management.Automation;
using Grouper.Keys;
using Grouper.Partitioning;
using Grouper.Sources;
using Grouper.Writer;

namespace Grouper.PowerShell.Commands;

/// <summary>Builds a grouped dataset from files or from objects on the pipeline.</summary>
[Cmdlet(VerbsCommon.New, "GroupedDataset", DefaultParameterSetName = PathSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(GroupedDatasetInfo))]
[OutputType(typeof(GroupPreview))]
public sealed class NewGroupedDatasetCommand : GrouperCmdlet, IDisposable
{
    private const string PathSet = "Path", LiteralSet = "LiteralPath", ObjectSet = "InputObject";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = [];

    [Parameter(Mandatory = true, ParameterSetName = LiteralSet, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = [];

    [Parameter(Mandatory = true, ParameterSetName = ObjectSet, ValueFromPipeline = true)]
    [AllowNull]
    public PSObject? InputObject { get; set; }

    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string Destination { get; set; } = "";

    [Parameter]
    [ArgumentCompleter(typeof(ColumnNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? GroupBy { get; set; }

    [Parameter]
    [ValidateNotNull]
    public ScriptBlock? KeyScript { get; set; }

    /// <summary>With -GroupBy (one column): the key is this regular expression's capture (group "key", else 1).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? KeyPattern { get; set; }

    /// <summary>Hash the key into this many numbered buckets.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int HashBuckets { get; set; }

    /// <summary>GroupedNaturalId: merge this many consecutive natural ids into one numbered group.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int IdsPerGroup { get; set; }

    [Parameter]
    public PartitionScheme? Scheme { get; set; }

    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int GroupCount { get; set; }

    [Parameter]
    public long Seed { get; set; }

    [Parameter]
    [ArgumentCompleter(typeof(ColumnNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string? LabelColumn { get; set; }

    [Parameter]
    [ValidateRange(1e-9, 1e9)]
    public double Alpha { get; set; } = double.NaN;

    [Parameter]
    public DirichletVariant DirichletMode { get; set; } = DirichletVariant.PerLabel;

    [Parameter]
    [ValidateRange(1L, long.MaxValue)]
    public long MinGroupSize { get; set; }

    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int LabelsPerGroup { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? Labels { get; set; }

    [Parameter]
    public GroupSizeCurve SizeCurve { get; set; } = GroupSizeCurve.PowerLaw;

    [Parameter]
    [ValidateRange(1e-9, 100.0)]
    public double Exponent { get; set; } = 1.0;

    /// <summary>Draw a scheme's randomness from this column instead of the record's position.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(ColumnNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string? IdColumn { get; set; }

    /// <summary>This worker's number (0-based) in a sharded build of -WorkerCount workers.</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int WorkerIndex { get; set; } = -1;

    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int WorkerCount { get; set; }

    /// <summary>Key: each worker reads all input and keeps its share of the groups. File: each worker reads its share of the files.</summary>
    [Parameter]
    public SplitBy SplitBy { get; set; } = SplitBy.Key;

    /// <summary>Report the groups the build would make, and their sizes, without writing a dataset.</summary>
    [Parameter]
    public SwitchParameter Preview { get; set; }

    [Parameter]
    [ValidateRange(4L << 20, long.MaxValue)]
    public long MemoryLimit { get; set; } = BuildOptions.DefaultMemoryLimit;

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? NullKeyGroup { get; set; }

    [Parameter]
    public InputFormat Format { get; set; } = InputFormat.Auto;

    /// <summary>The field delimiter of delimited text inputs (';' as Excel writes CSV in many locales, '|'), as Import-Csv names it.</summary>
    [Parameter]
    public char Delimiter { get; set; }

    /// <summary>Standard (RFC 4180) or None: quotes are ordinary characters and a record is one line (IMDb's TSV files).</summary>
    [Parameter]
    public InputQuoting Quoting { get; set; } = InputQuoting.Standard;

    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Write the new dataset through to the disk (fsync) before committing it; replacing a dataset always does.</summary>
    [Parameter]
    public SwitchParameter Durable { get; set; }

    private readonly CancellationTokenSource _cts = new();
    private GroupedDatasetBuilder? _builder;
    private ObjectRecordReader? _objects;
    private PSObject? _currentObject;
    private long _objectCount;
    private string _destination = "";
    private int _failedInputs;

    private bool _started;
    private readonly List<string> _files = new();

    protected override void BeginProcessing()
    {
        int ways = (GroupBy is null ? 0 : 1) + (KeyScript is null ? 0 : 1) + (Scheme is null ? 0 : 1);
        if (ways != 1)
            Refuse("Give one of -GroupBy (key columns), -KeyScript (a script block that returns the key) or -Scheme (a synthetic partition).", "KeyParameterConflict");
        if (KeyPattern is not null && GroupBy is not { Length: 1 }) Refuse("-KeyPattern works on one -GroupBy column.", "KeyPatternNeedsOneColumn");
        if (Scheme is not null && (HashBuckets > 0 || IdsPerGroup > 0 || KeyPattern is not null))
            Refuse("-HashBuckets, -IdsPerGroup and -KeyPattern derive keys from -GroupBy or -KeyScript, not from a -Scheme.", "SchemeWithDerivedKey");
        if (HashBuckets > 0 && IdsPerGroup > 0) Refuse("Use -HashBuckets or -IdsPerGroup, not both.", "BucketsAndIdsPerGroup");
        if (Scheme is not null)
        {
            if (GroupCount < 1) Refuse($"-Scheme {Scheme} needs -GroupCount.", "SchemeNeedsGroupCount");
            if (Scheme is PartitionScheme.Dirichlet or PartitionScheme.Shard && LabelColumn is null) Refuse($"-Scheme {Scheme} needs -LabelColumn.", "SchemeNeedsLabelColumn");
            if (Scheme == PartitionScheme.Dirichlet && double.IsNaN(Alpha)) Refuse("-Scheme Dirichlet needs -Alpha (smaller is more skewed, e.g. 0.5).", "SchemeNeedsAlpha");
            if (Scheme == PartitionScheme.Shard && LabelsPerGroup < 1) Refuse("-Scheme Shard needs -LabelsPerGroup.", "SchemeNeedsLabelsPerGroup");
            if (MinGroupSize > 0 && Scheme != PartitionScheme.Dirichlet) Refuse("-MinGroupSize applies to -Scheme Dirichlet.", "MinGroupSizeWithoutDirichlet");
        }
        // A scheme's parameter given to a build that does not use it (a -LabelColumn misspelt, -GroupBy given with
        // -GroupCount) was ignored without a word; -MinGroupSize was the one refused.
        foreach (var (name, schemes) in SchemeParameters)
            if (MyInvocation.BoundParameters.ContainsKey(name) && !(Scheme is { } used && schemes.Contains(used)))
                Refuse($"-{name} applies to -Scheme {string.Join(" and ", schemes)}{(Scheme is null ? "" : $", not {Scheme}")}.", "SchemeParameterUnused");
        if ((WorkerIndex >= 0) != (WorkerCount > 0)) Refuse("-WorkerIndex and -WorkerCount go together.", "WorkerParametersIncomplete");
        if (WorkerCount > 0 && WorkerIndex >= WorkerCount) Refuse($"-WorkerIndex {WorkerIndex} is not below -WorkerCount {WorkerCount}.", "WorkerIndexOutOfRange");
        if (WorkerCount > 0 && SplitBy == SplitBy.File && (Scheme is not null || HashBuckets > 0 || IdsPerGroup > 0))
            // Each worker would make groups 0..N-1 of its own files, and the merge needs the parts' groups disjoint
            // (-IdColumn was advised here, and its parts could not be merged either).
            Refuse($"{(Scheme is not null ? "-Scheme" : HashBuckets > 0 ? "-HashBuckets" : "-IdsPerGroup")} makes groups numbered alike in every worker of a file split, whose parts could then not be merged: use -SplitBy Key.", "FileSplitNumberedGroups");
        CheckTextOptions();
        _destination = ResolveOutputPath(Destination, "DestinationNotFileSystem");
        if (Preview) return;
        bool exists = Directory.Exists(_destination) || File.Exists(_destination);
        if (exists && !Force)
            ThrowTerminatingError(new ErrorRecord(new IOException($"The destination '{_destination}' exists. Use -Force to replace it."),
                "DestinationExists", ErrorCategory.ResourceExists, _destination));
        _started = ShouldProcess(_destination, exists ? "Replace grouped dataset" : "Create grouped dataset");
    }

    private static readonly (string Name, PartitionScheme[] Schemes)[] SchemeParameters =
    [
        ("GroupCount", [PartitionScheme.Iid, PartitionScheme.SizeSkew, PartitionScheme.Dirichlet, PartitionScheme.Shard]),
        ("IdColumn", [PartitionScheme.Iid, PartitionScheme.SizeSkew, PartitionScheme.Dirichlet, PartitionScheme.Shard]),
        ("LabelColumn", [PartitionScheme.Dirichlet, PartitionScheme.Shard]),
        ("Labels", [PartitionScheme.Dirichlet, PartitionScheme.Shard]),
        ("Alpha", [PartitionScheme.Dirichlet]),
        ("DirichletMode", [PartitionScheme.Dirichlet]),
        ("LabelsPerGroup", [PartitionScheme.Shard]),
        ("SizeCurve", [PartitionScheme.SizeSkew]),
        ("Exponent", [PartitionScheme.SizeSkew]),
    ];

    private void Refuse(string message, string id, object? target = null) =>
        ThrowTerminatingError(new ErrorRecord(new PSArgumentException(message), id, ErrorCategory.InvalidArgument, target));

    private bool DelimiterGiven => MyInvocation.BoundParameters.ContainsKey(nameof(Delimiter));
    private bool QuotingGiven => MyInvocation.BoundParameters.ContainsKey(nameof(Quoting));

    /// <summary>The text option given (-Delimiter first), for messages and error ids; null when neither is.</summary>
    private string? TextOption => DelimiterGiven ? nameof(Delimiter) : QuotingGiven ? nameof(Quoting) : null;

    /// <summary>
    /// -Delimiter and -Quoting are for delimited text: refused with a format that is not, a delimiter that cannot
    /// separate fields, and a delimiter other than tab with -Format Tsv (which names the tab).
    /// </summary>
    private void CheckTextOptions()
    {
        if (DelimiterGiven && !CsvRecordReader.IsValidDelimiter(Delimiter))
            Refuse($"-Delimiter {SourceFiles.DescribeChar(Delimiter)} cannot separate fields: give an ASCII character other than a quote, CR or LF (';', '|', \"`t\").", "InvalidDelimiter", Delimiter);
        if (Format is InputFormat.JsonLines or InputFormat.Parquet)
        {
            if (DelimiterGiven) Refuse($"-Delimiter is for delimited text (CSV, TSV), not -Format {Format}.", "DelimiterWithNonTextFormat", Format);
            if (QuotingGiven) Refuse($"-Quoting is for delimited text (CSV, TSV), not -Format {Format}.", "QuotingWithNonTextFormat", Format);
        }
        if (Format == InputFormat.Tsv && DelimiterGiven && Delimiter != '\t')
            Refuse($"-Format Tsv is text delimited by tabs, not by {SourceFiles.DescribeChar(Delimiter)}: give -Format Csv (or no -Format) with -Delimiter.", "DelimiterConflictsWithTsv", Delimiter);
    }

    private SourceOptions? _sourceOptions;

    /// <summary>How input files are read: -Format, -Delimiter and -Quoting.</summary>
    private SourceOptions Options => _sourceOptions ??= new SourceOptions
    {
        Format = SourceFormatOf(Format),
        Delimiter = DelimiterGiven ? Delimiter : null,
        Quoting = (CsvQuoting)Quoting,
    };

    /// <summary>Schemes that must know the labels (or their counts) before the first record is assigned.</summary>
    private bool NeedsLabelScan => Scheme is PartitionScheme.Dirichlet && (MinGroupSize > 0 || DirichletMode == DirichletVariant.PerGroup && Labels is null)
        || Scheme is PartitionScheme.Shard && Labels is null;

    private KeySpec MakeKey(IReadOnlyDictionary<string, long>? labelCounts)
    {
        var labels = Labels ?? labelCounts?.Keys.ToArray();
        KeySpec key = Scheme switch
        {
            PartitionScheme.Iid => new IidScheme(GroupCount, Seed, IdColumn),
            PartitionScheme.SizeSkew => new SizeSkewScheme(GroupCount, (SizeCurve)SizeCurve, Exponent, Seed, IdColumn),
            PartitionScheme.Dirichlet => new DirichletScheme(GroupCount, LabelColumn!, Alpha, (DirichletMode)DirichletMode, Seed, labels,
                MinGroupSize > 0 ? labelCounts : null, MinGroupSize, IdColumn),
            PartitionScheme.Shard => new ShardScheme(GroupCount, LabelColumn!, LabelsPerGroup, labels!, Seed, IdColumn),
            _ => KeyPattern is not null
                ? new RegexKeySpec(GroupBy![0], KeyPattern) { NullPolicy = NullPolicy, NullGroupName = NullKeyGroup ?? "__null__" }
                : GroupBy is not null
                    ? new ColumnKeySpec(GroupBy) { NullPolicy = NullPolicy, NullGroupName = NullKeyGroup ?? "__null__" }
                    : new FunctionKeySpec(RunKeyScript, "script: " + KeyScript!.ToString().Trim()) { NullPolicy = NullPolicy, NullGroupName = NullKeyGroup ?? "__null__" },
        };
        if (HashBuckets > 0) key = new HashBucketKeySpec(key, HashBuckets, Seed);
        if (IdsPerGroup > 0) key = new GroupedNaturalIdKeySpec(key, IdsPerGroup);
        return key;
    }

    private static SourceFormat? SourceFormatOf(InputFormat format) => format == InputFormat.Auto ? null : (SourceFormat)(format - 1);

    private NullKeyPolicy NullPolicy => NullKeyGroup is null ? NullKeyPolicy.Error : NullKeyPolicy.Group;

    /// <summary>Creates the builder (once), after the label scan a scheme may need.</summary>
    private GroupedDatasetBuilder Builder(IReadOnlyList<string>? files)
    {
        if (_builder is not null) return _builder;
        IReadOnlyDictionary<string, long>? counts = null;
        try
        {
            if (NeedsLabelScan)
            {
                WriteProgress(new ProgressRecord(1, "New-GroupedDataset", $"Counting the labels of '{LabelColumn}'"));
                counts = LabelScan.Count(files ?? [], LabelColumn!, Options, _cts.Token);
                WriteVerbose($"Labels of '{LabelColumn}': {string.Join(", ", counts.Select(p => $"{p.Key} ({p.Value})"))}");
            }
            var target = Preview ? System.IO.Path.Combine(System.IO.Path.GetTempPath(), "grouper-preview-" + Guid.NewGuid().ToString("N")) : _destination;
            _builder = new GroupedDatasetBuilder(target, new BuildOptions
            {
                Key = MakeKey(counts),
                MemoryLimit = MemoryLimit,
                Overwrite = Force,
                Durable = Durable,
                KeysOnly = Preview,
                Worker = Share,
                Progress = new PipelineProgress<BuildProgress>(ReportProgress),
            });
            foreach (var line in _builder.Recovered) WriteWarning(line);
        }
        catch (GrouperException ex)
        {
            ThrowTerminatingError(ToErrorRecord(ex, "BuildStart", ex.SourceName ?? _destination));
        }
        return _builder!;
    }

    protected override void ProcessRecord()
    {
        if (!_started && !Preview) return; // -WhatIf, or the user declined
        switch (ParameterSetName)
        {
            case PathSet: AddFiles(ResolveInputPaths(Path, literal: false)); break;
            case LiteralSet: AddFiles(ResolveInputPaths(LiteralPath, literal: true)); break;
            default: AddObject(InputObject); break;
        }
    }

    private void AddFiles(IEnumerable<string> paths)
    {
        foreach (var path in paths)
        {
            try
            {
                // A folder that holds the destination holds its dataset too: a rebuild with -Force read the old shards.
                int skipped = 0, taken = 0;
                foreach (var file in SourceFiles.Expand(path, Options))
                    if (SourceFiles.IsWithin(file, _destination)) skipped++;
                    else { CheckDelimitedText(file); _files.Add(file); taken++; }
                if (skipped > 0 && taken == 0)
                {
                    // Grouping a dataset into itself (New-GroupedDataset ./ds ./ds -Force) replaced it with an empty one.
                    _failedInputs++;
                    WriteError(new ErrorRecord(new InvalidOperationException(
                        $"Every file of {path} is inside the destination {_destination}, which this build writes: write the new dataset elsewhere."),
                        "InputInsideDestination", ErrorCategory.InvalidArgument, path));
                }
                else if (skipped > 0)
                    WriteWarning($"Skipped {skipped} file{(skipped == 1 ? "" : "s")} of {path} inside the destination {_destination}, which this build writes.");
            }
            catch (GrouperException ex)
            {
                _failedInputs++;
                WriteError(ToErrorRecord(ex, "InputNotFound", path));
            }
        }
        // Files are read at the end when all must be known first (a scheme counting labels, a split by file).
        if (!NeedsLabelScan && !SplitsFiles) ReadFiles();
    }

    /// <summary>
    /// With -Delimiter or -Quoting None and no -Format, the inputs are delimited text: a file named (or matched by a
    /// wildcard) whose extension says JSON Lines or Parquet ends the command before anything is read (a folder's
    /// such files are not its inputs under these options). -Quoting Standard, the default, changes nothing.
    /// </summary>
    private void CheckDelimitedText(string file)
    {
        if (Format != InputFormat.Auto || !Options.SaysDelimitedText) return;
        var option = DelimiterGiven ? nameof(Delimiter) : nameof(Quoting);
        if (SourceFiles.TryDetectFormat(file, out var f) && f is SourceFormat.JsonLines or SourceFormat.Parquet)
            ThrowTerminatingError(new ErrorRecord(new PSArgumentException(
                $"{file} is a {SourceFiles.Name(f)} file by its extension; -{option} is for delimited text (CSV, TSV). Leave it out of this build, or give -Format Csv to read it as delimited text anyway."),
                option + "WithNonTextInput", ErrorCategory.InvalidArgument, file));
    }

    private bool _ending; // in EndProcessing: every input file is known

    private bool SplitsFiles => WorkerCount > 0 && SplitBy == SplitBy.File;

    private WorkerShare? Share => WorkerCount > 0 ? new WorkerShare(WorkerIndex, WorkerCount, (WorkerSplit)SplitBy) : null;

    private void ReadFiles()
    {
        if (_files.Count == 0) return;
        var mine = Share?.FilesOf(_files).ToList() ?? _files;
        var builder = Builder(mine);
        // How much of the input is read, as a percentage, where all of it is known now: not for files that
        // come one by one down the pipeline (the percentage would start again at each), which show each file's.
        if (!MyInvocation.ExpectingInput || _ending) builder.ExpectFiles(mine);
        foreach (var file in mine) AddFile(builder, file);
        _files.Clear();
    }

    private void AddFile(GroupedDatasetBuilder builder, string file)
    {
        WriteVerbose($"Reading {file}");
        try
        {
            using var reader = SourceFiles.Open(file, Options);
            builder.AddAll(reader, _cts.Token);
        }
        catch (GrouperException ex) when (ex.Kind == GrouperErrorKind.InvalidArgument && ex.Row == 0)
        {
            // A file whose format cannot be told: skip it, and do not commit a dataset without it.
            _failedInputs++;
            WriteError(ToErrorRecord(ex, "UnknownInputFormat", file));
        }
        catch (GrouperException ex) when (ex.Kind is GrouperErrorKind.ReadFailed or GrouperErrorKind.NotFound && ex.Row == 0)
        {
            // A file that cannot be opened (not readable, a link to nothing): said, the others read, nothing committed.
            _failedInputs++;
            WriteError(ToErrorRecord(ex, "InputNotReadable", file));
        }
        catch (GrouperException ex)
        {
            // Records of this file are already in the build: a dataset without the rest would be incomplete.
            ThrowTerminatingError(ToErrorRecord(ex, "BadInput", file));
        }
    }

    private void AddObject(PSObject? obj)
    {
        if (obj is null) return;
        if (obj.BaseObject is FileSystemInfo fsi)
        {
            // Get-ChildItem output: the files themselves are the input.
            AddFiles([fsi.FullName]);
            return;
        }
        if (obj.BaseObject is GroupedDatasetInfo dataset)
        {
            // Get-GroupedDataset output: its shards, grouped again (it was one record of the info object's properties).
            AddFiles([dataset.Path]);
            return;
        }
        // Resolve-Path's PathInfo, or any object with a PSPath (what -LiteralPath binds by property name, which
        // -InputObject's binding by value always took first): a path to read, not a record of its properties.
        var pathLike = obj.BaseObject is PathInfo info ? info.Path : obj.Properties["PSPath"]?.Value as string;
        if (pathLike is not null)
        {
            AddFiles(ResolveInputPaths([pathLike], literal: true));
            return;
        }
        if (SplitsFiles)
            Refuse("-SplitBy File divides input files among workers; pipeline objects can only be split by key.", "FileSplitNeedsFiles");
        if (TextOption is { } option)
            // A record's fields are its properties: there is no text to split (Import-Csv -Delimiter reads such text).
            Refuse($"-{option} is for reading delimited text files; objects on the pipeline are records already (for text, give its files, or Import-Csv -Delimiter).", option + "WithPipelineRecords", obj);
        if (NeedsLabelScan)
            // Pipeline input is seen once: it cannot be counted first. (Checked here: in BeginProcessing the
            // parameter set of pipeline-bound input is not known yet.)
            Refuse($"-Scheme {Scheme}{(MinGroupSize > 0 ? " with -MinGroupSize" : "")} needs {(MinGroupSize > 0 ? "the label counts" : "the labels")}, which are read from input files first; for pipeline input give -Labels{(MinGroupSize > 0 ? " and no -MinGroupSize" : "")}.", "SchemeNeedsFileInput");
        _objects ??= new ObjectRecordReader("pipeline");
        _objectCount++;
        _objects.SetCurrent(Fields(obj), _objectCount);
        _currentObject = obj;
        try { Builder(null).Add(_objects); }
        // The object itself as the target (its source's name, "pipeline", said nothing of which).
        catch (GrouperException ex) { ThrowTerminatingError(new ErrorRecord(ex, $"BadInputObject.{ex.Kind}", CategoryOf(ex.Kind), obj)); }
        finally { _currentObject = null; }
        if ((_objectCount & 0x3FF) == 0 && _cts.IsCancellationRequested) throw new PipelineStoppedException();
    }

    private static IEnumerable<KeyValuePair<string, object?>> Fields(PSObject obj)
    {
        if (obj.BaseObject is IDictionary dict)
        {
            // A hashtable's columns in key order ([ordered] keeps its own): the same input, the same dataset.
            foreach (var (key, value) in ObjectRecordReader.StableEntries(dict))
                yield return new(key, Unwrap(value));
            yield break;
        }
        foreach (var p in obj.Properties)
        {
            if (!p.IsGettable || (p.MemberType & PSMemberTypes.Properties) == 0) continue;
            object? value;
            try { value = p.Value; }
            catch (GetValueException) { continue; }
            yield return new(p.Name, Unwrap(value));
        }
    }

    // A key is text: a script's result only loses PowerShell's wrapper (its nested values keep their own text).
    private static object? UnwrapKey(object? v) => v is PSObject pso && pso.BaseObject is not PSCustomObject ? pso.BaseObject : v;

    /// <summary>
    /// A property's value for Core: PowerShell's wrapper taken off, and nested objects ([pscustomobject],
    /// arrays, hashtables) made plain dictionaries and lists all the way down, which Core writes as JSON text
    /// (their own text was "@{a=1; b=System.Object[]}").
    /// </summary>
    private static object? Unwrap(object? v, int depth = 0)
    {
        if (v is PSObject pso)
        {
            if (pso.BaseObject is not PSCustomObject) v = pso.BaseObject;
            else if (depth < 32)
            {
                var fields = new OrderedDictionary(StringComparer.Ordinal);
                foreach (var p in pso.Properties)
                {
                    if (!p.IsGettable || (p.MemberType & PSMemberTypes.Properties) == 0) continue;
                    try { fields[p.Name] = Unwrap(p.Value, depth + 1); }
                    catch (GetValueException) { }
                }
                return fields;
            }
        }
        if (v is null or string or byte[] || depth >= 32) return v;
        if (v is IDictionary dict)
        {
            var copy = new OrderedDictionary(StringComparer.Ordinal);
            foreach (var (key, value) in ObjectRecordReader.StableEntries(dict)) copy[key] = Unwrap(value, depth + 1);
            return copy;
        }
        if (v is IList list)
        {
            var items = new object?[list.Count];
            for (int i = 0; i < items.Length; i++) items[i] = Unwrap(list[i], depth + 1);
            return items;
        }
        return v;
    }

    // The record a key script sees for a file's record: Get-GroupRecord's kind, its class made once for the
    // reader's columns. A class, not a tuple: a field of a struct holding Core's types would have the runtime
    // load Grouper.Core with this cmdlet's type, before the module's load context can find it.
    private sealed class ScriptShape(RecordReader reader)
    {
        public readonly RecordReader Reader = reader;
        public readonly List<string> Names = RecordTypes.PropertyNames(Enumerable.Range(0, reader.FieldCount).Select(reader.GetName), out _);
        public Func<object?[], object>? Factory;
    }

    private ScriptShape? _scriptShape;

    private object RecordOf(RecordReader reader)
    {
        if (_scriptShape is not { } shape || !ReferenceEquals(shape.Reader, reader))
        {
            _scriptShape = shape = new ScriptShape(reader);
            shape.Factory = RecordTypes.FactoryFor(shape.Names);
        }
        var values = new object?[shape.Names.Count];
        for (int i = 0; i < values.Length; i++) values[i] = reader.GetValue(i);
        return RecordTypes.Create(shape.Factory, shape.Names, values);
    }

    private object? RunKeyScript(RecordReader reader)
    {
        object subject = _currentObject ?? RecordOf(reader);
        var result = KeyScript!.InvokeWithContext(null, [new PSVariable("_", subject), new PSVariable("PSItem", subject)]);
        if (result.Count == 0) return null;
        if (result.Count == 1)
        {
            var key = UnwrapKey(result[0]);
            // One array (,@($_.a, $_.b)) is the parts of a composite key, as the same values written one by one are;
            // it was keyed "System.Object[]", every record in one group.
            if (key is IList parts and not byte[]) return parts.Count == 0 ? null : KeyText.Compose(parts.Cast<object?>().Select(KeyPart));
            return KeyPart(key) is var text && text.Length == 0 ? null : key;
        }
        return KeyText.Compose(result.Select(KeyPart));
    }

    // A key part's text; a hashtable or an object ("System.Collections.Hashtable", "@{a=alice}") is no key.
    private static string KeyPart(object? value) => UnwrapKey(value) switch
    {
        null => "",
        IDictionary or PSObject { BaseObject: PSCustomObject } => throw new InvalidOperationException(
            "the key script returned a hashtable or an object; return text, a number or a date, or several values (one after the other, or an array) for a key of several parts"),
        IList and not byte[] => throw new InvalidOperationException("the key script returned a list within a list; return one value for each part of the key"),
        var v => KeyText.Format(v),
    };

    protected override void EndProcessing()
    {
        if (!_started && !Preview) return;
        _ending = true;
        ReadFiles();
        // A path that resolved to nothing (a typo, a pattern that matched no file) is an input the dataset would lack:
        // with -Force, a typo replaced a dataset with an empty one.
        int failed = _failedInputs + UnresolvedInputs;
        if (failed > 0)
            ThrowTerminatingError(new ErrorRecord(new InvalidOperationException(
                $"{failed} input(s) could not be read; the dataset was not written, so that it does not silently lack them."),
                "InputsFailed", ErrorCategory.InvalidData, _destination));
        if (_builder is null)
            // Nothing came down the pipeline (an upstream command that failed, a filter or Get-ChildItem that let
            // nothing through): an empty dataset would replace one with -Force. An input file of no records builds
            // an empty dataset.
            ThrowTerminatingError(new ErrorRecord(new InvalidOperationException(
                "No input came down the pipeline; the dataset was not written. Give -Path for files, or pipe records or files."),
                "NoInput", ErrorCategory.InvalidArgument, _destination));
        var builder = Builder(_files);
        try
        {
            if (Preview)
            {
                foreach (var g in builder.Preview(_cts.Token))
                    WriteObject(new GroupPreview { Key = g.Key, RecordCount = g.RecordCount, ByteCount = g.ByteCount });
                WriteProgress(new ProgressRecord(1, "New-GroupedDataset", "Done") { RecordType = ProgressRecordType.Completed });
                return;
            }
            var manifest = builder.Complete(_cts.Token);
            WriteProgress(new ProgressRecord(1, "New-GroupedDataset", "Done") { RecordType = ProgressRecordType.Completed });
            WriteObject(ToInfo(_destination, manifest));
        }
        catch (GrouperException ex)
        {
            ThrowTerminatingError(ToErrorRecord(ex, "BuildFailed", _destination));
        }
        catch (IOException ex)
        {
            ThrowTerminatingError(new ErrorRecord(ex, "BuildWriteFailed", ErrorCategory.WriteError, _destination));
        }
    }

    private void ReportProgress(BuildProgress p)
    {
        // Core reports on this (the pipeline) thread, at most a few times a second.
        WriteProgress(BuildProgressRecord(1, "New-GroupedDataset", p,
            $"{ReadSoFar(p)}; {p.SpillRuns} spill runs", "pipeline input"));
    }

    protected override void StopProcessing() => _cts.Cancel();

    public void Dispose()
    {
        _builder?.Dispose();
        _objects?.Dispose();
        _cts.Dispose();
    }
}
