using System.Management.Automation;
using Grouper.Reading;

namespace Grouper.PowerShell.Commands;

/// <summary>Streams the groups of a dataset from its index (key, records, bytes), or finds groups by key.</summary>
[Cmdlet(VerbsCommon.Get, "Group", DefaultParameterSetName = "Path")]
[OutputType(typeof(GroupEntry))]
public sealed class GetGroupCommand : DatasetPathCmdlet, IDisposable
{
    /// <summary>Keys of the groups to get (canonical key text); without it, every group.</summary>
    [Parameter(Position = 1, ParameterSetName = "Path", ValueFromPipeline = true)]
    [Parameter(Position = 1, ParameterSetName = "LiteralPath", ValueFromPipeline = true)]
    public GroupKey[]? Key { get; set; }

    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int First { get; set; } = -1;

    [Parameter] [ValidateRange(0L, long.MaxValue)] public long MinRecords { get; set; } = -1;
    [Parameter] [ValidateRange(0L, long.MaxValue)] public long MaxRecords { get; set; } = -1;
    [Parameter] [ValidateRange(0L, long.MaxValue)] public long MinBytes { get; set; } = -1;
    [Parameter] [ValidateRange(0L, long.MaxValue)] public long MaxBytes { get; set; } = -1;

    /// <summary>Seeded shuffle of the group order (by xxHash3 of key and -Seed).</summary>
    [Parameter] public SwitchParameter Shuffle { get; set; }

    [Parameter] public long Seed { get; set; }

    /// <summary>Skip this many selected groups: resume a stream after the group whose Position was N-1.</summary>
    [Parameter] [ValidateRange(0L, long.MaxValue)] public long Skip { get; set; }

    /// <summary>Hold out this fraction of the groups (by xxHash3 of key and -SplitSeed); -Side picks which part to read.</summary>
    [Parameter] [ValidateRange(0.0, 1.0)] public double HoldOutFraction { get; set; } = -1;

    [Parameter] public Side Side { get; set; } = Side.Train;

    [Parameter] public long SplitSeed { get; set; }

    /// <summary>Sample this many groups per round (federated cohorts), for -Rounds rounds.</summary>
    [Parameter] [ValidateRange(1, int.MaxValue)] public int GroupsPerRound { get; set; }

    [Parameter] [ValidateRange(1, int.MaxValue)] public int Rounds { get; set; } = 1;

    /// <summary>The first round to sample (to resume a run); round r depends only on -Seed and r.</summary>
    [Parameter] [ValidateRange(0, int.MaxValue)] public int FirstRound { get; set; }

    /// <summary>Draw cohort members with probability proportional to their record count.</summary>
    [Parameter] public SwitchParameter SizeWeighted { get; set; }

    private readonly DatasetCache _datasets = new();
    private long _emitted;

    protected override void BeginProcessing()
    {
        // Each was ignored without a word where it does nothing: -Side Test without a fraction read every group.
        RequireWith("HoldOutFraction", HoldOutFraction >= 0, "Side", "SplitSeed");
        RequireWith("GroupsPerRound", GroupsPerRound > 0, "Rounds", "FirstRound", "SizeWeighted");
        if (Shuffle && GroupsPerRound > 0)
            ThrowTerminatingError(new ErrorRecord(new PSArgumentException("-GroupsPerRound draws its cohorts at random (by -Seed) already; -Shuffle orders all groups. Use one or the other."),
                "ShuffleWithRounds", ErrorCategory.InvalidArgument, null));
    }

    protected override void ProcessRecord()
    {
        // Here rather than in BeginProcessing: keys piped in are bound only now, and were read without the
        // selection they came with.
        if (MyInvocation.BoundParameters.ContainsKey("Key") && (GroupsPerRound > 0 || Shuffle || Skip > 0))
            ThrowTerminatingError(new ErrorRecord(new PSArgumentException("-Key finds groups; -Shuffle, -Skip and -GroupsPerRound select among all groups. Use one or the other."),
                "KeyWithSelection", ErrorCategory.InvalidArgument, null));
        // -Path is fixed for the whole pipeline; -LiteralPath may come with each object (a dataset from
        // Get-GroupedDataset, a folder: anything with a PSPath).
        var keys = BoundKeys(Key);
        if (keys is { Count: 0 }) return;
        foreach (var path in ResolveDatasetPaths())
        {
            try
            {
                var ds = _datasets.Get(path, SessionState);
                if (keys is null)
                {
                    if (GroupsPerRound > 0)
                    {
                        // Every round holds GroupsPerRound groups and depends on -Seed and its number only, so
                        // -Skip passes whole rounds unsampled. The sampler still runs (for no round, when all
                        // are skipped) to report a dataset with too few groups for a round.
                        long skippedRounds = Math.Min(Skip / GroupsPerRound, Rounds);
                        long position = skippedRounds * GroupsPerRound;
                        foreach (var cohort in CohortSampler.Sample(ds, Selection(), GroupsPerRound, Rounds - (int)skippedRounds, Seed, SizeWeighted,
                                     FirstRound + (int)skippedRounds))
                            foreach (var g in cohort.Groups)
                            {
                                if (position < Skip) { position++; continue; }
                                if (First >= 0 && _emitted >= First) return;
                                WriteObject(ToEntry(ds.Path, g, position++, cohort.Round));
                                _emitted++;
                            }
                        continue;
                    }
                    var selection = Selection();
                    long pos = selection.Skip;
                    foreach (var g in selection.Apply(ds))
                    {
                        if (First >= 0 && _emitted >= First) return;
                        WriteObject(ToEntry(ds.Path, g, pos++));
                        _emitted++;
                    }
                    continue;
                }
                // The size filters and the hold-out split decide each group by itself, so they apply to groups
                // found by key as to all groups; a group they leave out is not an error.
                var filter = Selection();
                foreach (var k in keys)
                {
                    if (First >= 0 && _emitted >= First) return;
                    var g = ds.FindGroup(k);
                    if (g is null)
                    {
                        WriteError(new ErrorRecord(new ItemNotFoundException($"The dataset {ds.Path} has no group with key '{k}'."),
                            "GroupNotFound", ErrorCategory.ObjectNotFound, k));
                        continue;
                    }
                    if (!filter.Matches(g)) continue;
                    // Its place among the groups this command found (every one was Position 0).
                    WriteObject(ToEntry(ds.Path, g, _emitted));
                    _emitted++;
                }
            }
            catch (GrouperException ex)
            {
                WriteError(ToErrorRecord(ex, "OpenDataset", path));
            }
        }
    }

    private GroupSelection Selection() => new()
    {
        MinRecords = MinRecords >= 0 ? MinRecords : null,
        MaxRecords = MaxRecords >= 0 ? MaxRecords : null,
        MinBytes = MinBytes >= 0 ? MinBytes : null,
        MaxBytes = MaxBytes >= 0 ? MaxBytes : null,
        TestFraction = HoldOutFraction >= 0 ? HoldOutFraction : null,
        SplitSeed = SplitSeed,
        Side = (SplitSide)Side,
        ShuffleSeed = Shuffle ? Seed : null,
        Skip = Skip,
    };

    public void Dispose() => _datasets.Dispose();
}
