using System.Management.Automation;
using Grouper.Format;
using Grouper.Reading;

namespace Grouper.PowerShell.Commands;

/// <summary>Streams the records of groups as objects with their native types; a group larger than memory streams too.</summary>
[Cmdlet(VerbsCommon.Get, "GroupRecord", DefaultParameterSetName = "Group")]
[OutputType(typeof(GroupRecord), typeof(PSObject))]
public sealed class GetGroupRecordCommand : DatasetPathCmdlet, IDisposable
{
    [Parameter(Mandatory = true, ParameterSetName = "Group", ValueFromPipeline = true)]
    [ValidateNotNull]
    public GroupEntry[] Group { get; set; } = [];

    /// <summary>The groups' keys; without it, every group's records in storage order.</summary>
    [Parameter(Position = 1, ParameterSetName = "Path", ValueFromPipeline = true)]
    [Parameter(Position = 1, ParameterSetName = "LiteralPath", ValueFromPipeline = true)]
    public GroupKey[] Key { get; set; } = [];

    /// <summary>Datasets from Get-GroupedDataset: every group's records of each, as without -Key.</summary>
    [Parameter(Mandatory = true, ParameterSetName = "Dataset", ValueFromPipeline = true)]
    [ValidateNotNull]
    public GroupedDatasetInfo[] Dataset { get; set; } = [];

    /// <summary>Only these columns (the others are not read at all).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(DatasetColumnCompleter))]
    public string[]? Property { get; set; }

    /// <summary>Read one side of a split of each group's records: the last fraction (or, with -RandomSplit, a seeded random fraction) is the test side.</summary>
    [Parameter] [ValidateRange(0.0, 1.0)] public double TestFraction { get; set; } = -1;

    [Parameter] public Side Side { get; set; } = Side.Train;

    [Parameter] public SwitchParameter RandomSplit { get; set; }

    [Parameter] public long SplitSeed { get; set; }

    private readonly DatasetCache _datasets = new();
    private readonly CancellationTokenSource _cts = new();

    // Ignored without a word before: -Side Test without -TestFraction read every record.
    protected override void BeginProcessing() => RequireWith("TestFraction", TestFraction >= 0, "Side", "RandomSplit", "SplitSeed");

    protected override void ProcessRecord()
    {
        if (ParameterSetName == "Group")
        {
            foreach (var g in Group) Emit(g.DatasetPath, g.Key);
            return;
        }
        var keys = BoundKeys(Key);
        if (keys is { Count: 0 }) return;
        foreach (var path in ParameterSetName == "Dataset" ? Dataset.Select(d => d.Path).ToList() : ResolveDatasetPaths())
        {
            if (keys is null) EmitAll(path);
            else foreach (var k in keys) Emit(path, k);
        }
    }

    private WithinGroupSplit? Split => TestFraction >= 0 ? new WithinGroupSplit(TestFraction, RandomSplit, SplitSeed, (SplitSide)Side) : null;

    // Every group's records in storage order: one scan of the shards, without a group's lookup or a pipeline
    // object's binding for each group (Get-Group | Get-GroupRecord pays both).
    private void EmitAll(string datasetPath)
    {
        try
        {
            var ds = _datasets.Get(datasetPath, SessionState);
            var shape = ShapeOf(ds);
            var split = Split;
            var values = new object?[shape.Names.Count];
            GroupInfo? group = null;
            long index = 0;
            foreach (var batch in ds.ScanBatches(shape.Selected, _cts.Token))
            {
                if (split is not null && batch.IsGroupStart)
                {
                    group = ds.GetGroup(batch.GroupOrdinal);
                    index = 0;
                }
                for (int i = 0; i < batch.Count; i++)
                {
                    if (split is not null && !split.Includes(group!, index++)) continue;
                    WriteRecord(shape, batch, i, values);
                }
            }
        }
        catch (GrouperException ex)
        {
            WriteError(ToErrorRecord(ex, "ReadDataset", datasetPath));
        }
    }

    // The record class copies the values, so one array serves every record.
    private void WriteRecord(Shape shape, RecordBatch batch, int row, object?[] values)
    {
        for (int c = 0; c < values.Length; c++) values[c] = batch.GetValue(c, row);
        WriteObject(RecordTypes.Create(shape.Factory, shape.Names, values));
    }

    private void Emit(string datasetPath, string key)
    {
        try
        {
            var ds = _datasets.Get(datasetPath, SessionState);
            var g = ds.FindGroup(key);
            if (g is null)
            {
                WriteError(new ErrorRecord(new ItemNotFoundException($"The dataset {ds.Path} has no group with key '{key}'."),
                    "GroupNotFound", ErrorCategory.ObjectNotFound, key));
                return;
            }
            var shape = ShapeOf(ds);
            var split = Split;
            var values = new object?[shape.Names.Count];
            long index = 0;
            foreach (var batch in ds.ReadBatches(g, shape.Selected, _cts.Token))
                for (int i = 0; i < batch.Count; i++)
                    if (split is null || split.Includes(g, index++)) WriteRecord(shape, batch, i, values);
        }
        catch (GrouperException ex)
        {
            WriteError(ToErrorRecord(ex, "ReadGroup", datasetPath));
        }
    }

    // The columns read and the record class of each dataset, found once (not for each group). A class, not a
    // tuple: see NewGroupedDatasetCommand.ScriptShape.
    private sealed class Shape(int[]? selected, List<string> names)
    {
        public readonly int[]? Selected = selected;
        public readonly List<string> Names = names;
        public readonly Func<object?[], object>? Factory = RecordTypes.FactoryFor(names);
    }

    private readonly Dictionary<GroupedDataset, Shape> _shapes = [];

    private Shape ShapeOf(GroupedDataset ds)
    {
        if (_shapes.TryGetValue(ds, out var shape)) return shape;
        var selected = Property is null ? null : ds.ColumnIndexes(Property);
        var names = RecordTypes.PropertyNames(selected is null ? ds.Columns.Select(c => c.Name) : selected.Select(i => ds.Columns[i].Name), out var renamed);
        if (renamed is not null)
            WriteWarning($"The dataset {ds.Path} has columns whose names differ only in case, which PowerShell's properties cannot tell apart: read {renamed}.");
        return _shapes[ds] = new Shape(selected, names);
    }

    protected override void StopProcessing() => _cts.Cancel();

    public void Dispose()
    {
        _datasets.Dispose();
        _cts.Dispose();
    }
}
