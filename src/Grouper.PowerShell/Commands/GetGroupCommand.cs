using System.Management.Automation;

namespace Grouper.PowerShell.Commands;

/// <summary>Streams the groups of a dataset from its index (key, records, bytes), or finds groups by key.</summary>
[Cmdlet(VerbsCommon.Get, "Group", DefaultParameterSetName = "Path")]
[OutputType(typeof(GroupEntry))]
public sealed class GetGroupCommand : GrouperCmdlet, IDisposable
{
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = "Path")]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = [];

    [Parameter(Mandatory = true, ParameterSetName = "LiteralPath", ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = [];

    /// <summary>Keys of the groups to get (canonical key text); without it, every group.</summary>
    [Parameter(Position = 1, ValueFromPipeline = true)]
    [AllowEmptyString]
    public string[]? Key { get; set; }

    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int First { get; set; } = -1;

    private readonly DatasetCache _datasets = new();
    private List<string>? _paths;
    private long _emitted;

    protected override void ProcessRecord()
    {
        // -Path is fixed for the whole pipeline; -LiteralPath may come with each object.
        if (_paths is null || ParameterSetName == "LiteralPath")
            _paths = ResolveInputPaths(ParameterSetName == "Path" ? Path : LiteralPath, ParameterSetName == "LiteralPath");
        foreach (var path in _paths)
        {
            try
            {
                var ds = _datasets.Get(path);
                if (Key is null)
                {
                    foreach (var g in ds.EnumerateGroups())
                    {
                        if (First >= 0 && _emitted >= First) return;
                        WriteObject(ToEntry(ds.Path, g));
                        _emitted++;
                    }
                    continue;
                }
                foreach (var k in Key)
                {
                    if (First >= 0 && _emitted >= First) return;
                    var g = ds.FindGroup(k);
                    if (g is null)
                    {
                        WriteError(new ErrorRecord(new ItemNotFoundException($"The dataset {ds.Path} has no group with key '{k}'."),
                            "GroupNotFound", ErrorCategory.ObjectNotFound, k));
                        continue;
                    }
                    WriteObject(ToEntry(ds.Path, g));
                    _emitted++;
                }
            }
            catch (GrouperException ex)
            {
                WriteError(ToErrorRecord(ex, "OpenDataset", path));
            }
        }
    }

    public void Dispose() => _datasets.Dispose();
}
