using System.Management.Automation;
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

    [Parameter(Mandatory = true, Position = 1, ParameterSetName = "Path", ValueFromPipeline = true)]
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = "LiteralPath", ValueFromPipeline = true)]
    [AllowEmptyString]
    public string[] Key { get; set; } = [];

    /// <summary>Only these columns (the others are not read at all).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? Property { get; set; }

    /// <summary>Read one side of a split of each group's records: the last fraction (or, with -RandomSplit, a seeded random fraction) is the test side.</summary>
    [Parameter] [ValidateRange(0.0, 1.0)] public double TestFraction { get; set; } = -1;

    [Parameter] public Side Side { get; set; } = Side.Train;

    [Parameter] public SwitchParameter RandomSplit { get; set; }

    [Parameter] public long SplitSeed { get; set; }

    private readonly DatasetCache _datasets = new();
    private readonly CancellationTokenSource _cts = new();

    protected override void ProcessRecord()
    {
        if (ParameterSetName == "Group")
        {
            foreach (var g in Group) Emit(g.DatasetPath, g.Key);
            return;
        }
        foreach (var path in ResolveDatasetPaths())
            foreach (var k in Key) Emit(path, k);
    }

    private void Emit(string datasetPath, string key)
    {
        try
        {
            var ds = _datasets.Get(datasetPath);
            var g = ds.FindGroup(key);
            if (g is null)
            {
                WriteError(new ErrorRecord(new ItemNotFoundException($"The dataset {ds.Path} has no group with key '{key}'."),
                    "GroupNotFound", ErrorCategory.ObjectNotFound, key));
                return;
            }
            var shape = ShapeOf(ds);
            var split = TestFraction >= 0 ? new WithinGroupSplit(TestFraction, RandomSplit, SplitSeed, (SplitSide)Side) : null;
            long index = 0;
            var records = ds.ReadRecords(g, shape.Selected, _cts.Token).Where(_ => split is null || split.Includes(g, index++));
            foreach (var values in records) WriteObject(RecordTypes.Create(shape.Factory, shape.Names, values));
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
