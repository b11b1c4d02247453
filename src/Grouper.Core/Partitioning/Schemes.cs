using System.Globalization;
using System.Text;
using Grouper.Keys;
using Grouper.Sources;

namespace Grouper.Partitioning;

/// <summary>Size-skew curves: group j (0-based) gets a share of records proportional to its weight.</summary>
public enum SizeCurve
{
    /// <summary>weight j+1</summary>
    Linear,
    /// <summary>weight (j+1)²</summary>
    Square,
    /// <summary>weight e^j</summary>
    Exponential,
    /// <summary>weight (j+1)^-s (Zipf with exponent s): group 0 is the largest</summary>
    PowerLaw,
}

/// <summary>The two Dirichlet label-skew recipes.</summary>
public enum DirichletMode
{
    /// <summary>Each label's records are spread over the groups by proportions drawn from Dir(α) over the groups (Dataset Grouper, Hsu et al. 2019).</summary>
    PerLabel,
    /// <summary>Each group draws its label proportions from Dir(α) over the labels; groups have equal expected size (Flower's InnerDirichlet).</summary>
    PerGroup,
}

/// <summary>
/// A synthetic partition into <see cref="GroupCount"/> numbered groups. Each record's randomness is
/// xxHash3 of the seed and the record's position in the input (or the value of an id column), so the
/// assignment is one pass, holds nothing per record, and is identical on every run and machine.
/// Group keys are the group numbers with leading zeros ("007" of 100).
/// </summary>
public abstract class SchemeKeySpec : KeySpec
{
    private long _position;

    protected SchemeKeySpec(int groupCount, long seed, string? idColumn)
    {
        if (groupCount < 1) throw new GrouperException(GrouperErrorKind.InvalidArgument, $"The group count must be at least 1 (it is {groupCount}).");
        GroupCount = groupCount;
        Seed = seed;
        IdColumn = idColumn;
    }

    public int GroupCount { get; }
    public long Seed { get; }
    /// <summary>A column whose value, not the record's position, drives the draw: records with the same id go together.</summary>
    public string? IdColumn { get; }

    public override void Reset() => _position = 0;

    public override IReadOnlyDictionary<string, string>? Parameters
    {
        get
        {
            var p = new Dictionary<string, string>
            {
                ["scheme"] = KindName,
                ["groupCount"] = GroupCount.ToString(CultureInfo.InvariantCulture),
                ["seed"] = Seed.ToString(CultureInfo.InvariantCulture),
            };
            if (IdColumn is not null) p["idColumn"] = IdColumn;
            AddParameters(p);
            return p;
        }
    }

    protected abstract void AddParameters(Dictionary<string, string> p);

    /// <summary>The group (0-based) of a record with this uniform draw and label (null when the scheme has no label).</summary>
    protected abstract int Assign(double u, string? label, RecordReader reader);

    /// <summary>The label column, for label-skew schemes.</summary>
    protected virtual string? LabelColumn => null;

    public override KeyExtractor Bind(RecordReader reader)
    {
        int Ordinal(string column)
        {
            int o = reader.FindOrdinal(column);
            if (o < 0 && !reader.IsSchemaFlexible)
                throw new GrouperException(GrouperErrorKind.MissingColumn, $"The column '{column}' is not in {reader.SourceName}.", reader.SourceName, reader.RowNumber);
            return o;
        }
        return new Extractor(this, IdColumn is null ? -1 : Ordinal(IdColumn), LabelColumn is null ? -1 : Ordinal(LabelColumn));
    }

    /// <summary>The group a record goes to, for previews and tests: the same computation as a build.</summary>
    public int GroupOf(long position, string? id, string? label) =>
        Assign(StableRandom.Unit(id is null ? StableRandom.Hash(position, Seed) : StableRandom.Hash(id, Seed)), label, null!);

    private sealed class Extractor(SchemeKeySpec spec, int idOrdinal, int labelOrdinal) : KeyExtractor
    {
        private readonly StringBuilder _text = new();

        public override void GetKey(RecordReader reader, StringBuilder sb)
        {
            long position = spec._position++;
            ulong h;
            if (spec.IdColumn is not null)
            {
                var id = Text(reader, ref idOrdinal, spec.IdColumn) ?? throw Missing(reader, spec.IdColumn);
                h = StableRandom.Hash(id, spec.Seed);
            }
            else h = StableRandom.Hash(position, spec.Seed);
            string? label = spec.LabelColumn is null ? null : Text(reader, ref labelOrdinal, spec.LabelColumn) ?? throw Missing(reader, spec.LabelColumn);
            int g = spec.Assign(StableRandom.Unit(h), label, reader);
            sb.Clear();
            sb.Append(GroupNames.Format(g, spec.GroupCount));
        }

        private string? Text(RecordReader reader, ref int ordinal, string column)
        {
            if (ordinal < 0) ordinal = reader.FindOrdinal(column);
            if (ordinal < 0) return null;
            _text.Clear();
            KeyText.Append(reader, ordinal, _text, escape: false);
            return _text.Length == 0 ? null : _text.ToString();
        }

        private static GrouperException Missing(RecordReader reader, string column) =>
            new(GrouperErrorKind.InvalidKey, $"Column '{column}' is null or empty in {reader.Location}; the partition scheme needs it.", reader.SourceName, reader.RowNumber);
    }

    /// <summary>Index of the first cumulative weight above u.</summary>
    protected static int Pick(double[] cdf, double u)
    {
        int i = Array.BinarySearch(cdf, u);
        i = i < 0 ? ~i : i + 1;
        return Math.Min(i, cdf.Length - 1);
    }

    protected static double[] Cdf(IReadOnlyList<double> weights)
    {
        var cdf = new double[weights.Count];
        double sum = 0;
        for (int i = 0; i < cdf.Length; i++) cdf[i] = sum += weights[i];
        for (int i = 0; i < cdf.Length; i++) cdf[i] /= sum;
        cdf[^1] = 1.0;
        return cdf;
    }
}

/// <summary>IID: every record goes to one of N groups with equal probability.</summary>
public sealed class IidScheme(int groupCount, long seed = 0, string? idColumn = null) : SchemeKeySpec(groupCount, seed, idColumn)
{
    public override string KindName => "iid";
    public override string Describe() => $"IID into {GroupCount} groups (seed {Seed})";
    protected override void AddParameters(Dictionary<string, string> p) { }
    protected override int Assign(double u, string? label, RecordReader reader) => Math.Min((int)(u * GroupCount), GroupCount - 1);
}

/// <summary>Size skew: group sizes follow a curve (linear, square, exponential, power law).</summary>
public sealed class SizeSkewScheme : SchemeKeySpec
{
    private readonly double[] _cdf;

    public SizeSkewScheme(int groupCount, SizeCurve curve, double exponent = 1.0, long seed = 0, string? idColumn = null) : base(groupCount, seed, idColumn)
    {
        if (curve == SizeCurve.PowerLaw && !(exponent > 0))
            throw new GrouperException(GrouperErrorKind.InvalidArgument, $"The power-law exponent must be above 0 (it is {exponent}).");
        Curve = curve;
        Exponent = exponent;
        Weights = Enumerable.Range(0, groupCount).Select(j => curve switch
        {
            SizeCurve.Linear => j + 1.0,
            SizeCurve.Square => (j + 1.0) * (j + 1.0),
            SizeCurve.Exponential => Math.Exp(j - (groupCount - 1.0)), // scaled so the largest weight is 1
            _ => Math.Pow(j + 1.0, -exponent),
        }).ToArray();
        _cdf = Cdf(Weights);
    }

    public SizeCurve Curve { get; }
    public double Exponent { get; }
    /// <summary>Unnormalized weight of each group.</summary>
    public IReadOnlyList<double> Weights { get; }

    public override string KindName => "size-skew";
    public override string Describe() => $"size skew ({Curve}{(Curve == SizeCurve.PowerLaw ? $", s={Exponent.ToString(CultureInfo.InvariantCulture)}" : "")}) into {GroupCount} groups (seed {Seed})";
    protected override void AddParameters(Dictionary<string, string> p)
    {
        p["curve"] = Curve.ToString();
        if (Curve == SizeCurve.PowerLaw) p["exponent"] = Exponent.ToString("R", CultureInfo.InvariantCulture);
    }
    protected override int Assign(double u, string? label, RecordReader reader) => Pick(_cdf, u);
}

/// <summary>
/// Dirichlet label skew over a label column. Smaller α gives more skew. Proportions are drawn once per
/// label (PerLabel) or per group (PerGroup) from a generator seeded by the seed and the label or group,
/// so they do not depend on the order records arrive in. With label counts and a minimum group size,
/// draws are repeated (attempt 0, 1, …) until every group's expected size, less three standard
/// deviations, is at least the minimum.
/// </summary>
public sealed class DirichletScheme : SchemeKeySpec
{
    private readonly Dictionary<string, double[]> _cdfs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int>? _labelIndex;
    private double[][]? _groupLabelProportions; // PerGroup: [group][label]
    private int _attempt;

    public DirichletScheme(int groupCount, string labelColumn, double alpha, DirichletMode mode = DirichletMode.PerLabel, long seed = 0,
        IReadOnlyList<string>? labels = null, IReadOnlyDictionary<string, long>? labelCounts = null, long minGroupSize = 0, string? idColumn = null)
        : base(groupCount, seed, idColumn)
    {
        if (!(alpha > 0)) throw new GrouperException(GrouperErrorKind.InvalidArgument, $"Alpha must be above 0 (it is {alpha}).");
        ArgumentException.ThrowIfNullOrEmpty(labelColumn);
        Label = labelColumn;
        Alpha = alpha;
        Mode = mode;
        labels ??= labelCounts?.Keys.Order(StringComparer.Ordinal).ToList();
        if (mode == DirichletMode.PerGroup && labels is null)
            throw new GrouperException(GrouperErrorKind.InvalidArgument, "The per-group Dirichlet scheme needs the set of labels (give the labels, or let the cmdlet read them from the input files).");
        Labels = labels?.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        _labelIndex = Labels?.Select((l, i) => (l, i)).ToDictionary(x => x.l, x => x.i, StringComparer.Ordinal);
        MinGroupSize = minGroupSize;
        if (minGroupSize > 0)
        {
            if (labelCounts is null)
                throw new GrouperException(GrouperErrorKind.InvalidArgument, "A minimum group size needs the label counts of the input (let the cmdlet read them from the input files).");
            FindAttempt(labelCounts);
        }
        Prepare();
    }

    public string Label { get; }
    public double Alpha { get; }
    public DirichletMode Mode { get; }
    public IReadOnlyList<string>? Labels { get; }
    public long MinGroupSize { get; }
    /// <summary>Which draw of the proportions is in use (above 0 when earlier draws broke the minimum size).</summary>
    public int Attempt => _attempt;

    protected override string? LabelColumn => Label;
    public override string KindName => "dirichlet";
    public override string Describe() =>
        $"Dirichlet label skew ({Mode}, alpha {Alpha.ToString(CultureInfo.InvariantCulture)}) over {Label} into {GroupCount} groups (seed {Seed})";

    protected override void AddParameters(Dictionary<string, string> p)
    {
        p["labelColumn"] = Label;
        p["alpha"] = Alpha.ToString("R", CultureInfo.InvariantCulture);
        p["mode"] = Mode.ToString();
        if (MinGroupSize > 0) { p["minGroupSize"] = MinGroupSize.ToString(CultureInfo.InvariantCulture); p["attempt"] = _attempt.ToString(CultureInfo.InvariantCulture); }
        if (Labels is not null) p["labels"] = string.Join(",", Labels);
    }

    private void Prepare()
    {
        _cdfs.Clear();
        if (Mode == DirichletMode.PerGroup)
            _groupLabelProportions = Enumerable.Range(0, GroupCount)
                .Select(j => new SplitMix64(StableRandom.Derive(Seed, $"group:{j}:attempt:{_attempt}")).NextDirichlet(Labels!.Count, Alpha)).ToArray();
    }

    /// <summary>P(group | label) for every group.</summary>
    public double[] GroupProbabilities(string label)
    {
        if (Mode == DirichletMode.PerLabel)
            return new SplitMix64(StableRandom.Derive(Seed, $"label:{label}:attempt:{_attempt}")).NextDirichlet(GroupCount, Alpha);
        if (!_labelIndex!.TryGetValue(label, out var l)) return [];
        var w = _groupLabelProportions!.Select(q => q[l]).ToArray();
        double sum = w.Sum();
        return sum > 0 ? w.Select(x => x / sum).ToArray() : Enumerable.Repeat(1.0 / GroupCount, GroupCount).ToArray();
    }

    /// <summary>Expected records per group for these label counts.</summary>
    public double[] ExpectedSizes(IReadOnlyDictionary<string, long> labelCounts)
    {
        var e = new double[GroupCount];
        foreach (var (label, n) in labelCounts)
        {
            var p = GroupProbabilities(label);
            for (int j = 0; j < p.Length; j++) e[j] += n * p[j];
        }
        return e;
    }

    private void FindAttempt(IReadOnlyDictionary<string, long> counts)
    {
        long total = counts.Values.Sum();
        if (MinGroupSize * GroupCount > total)
            throw new GrouperException(GrouperErrorKind.InvalidArgument, $"{GroupCount} groups of at least {MinGroupSize} records need {MinGroupSize * GroupCount} records; the input has {total}.");
        for (_attempt = 0; _attempt < 10_000; _attempt++)
        {
            Prepare();
            // Three standard deviations of margin: the actual (binomial) sizes then reach the minimum
            // for all practical purposes, not only on average.
            if (ExpectedSizes(counts).All(e => e - 3 * Math.Sqrt(e) >= MinGroupSize)) return;
        }
        throw new GrouperException(GrouperErrorKind.InvalidArgument,
            $"No draw of the Dirichlet proportions (alpha {Alpha}) in 10,000 attempts gives every group {MinGroupSize} records; lower the minimum or raise alpha.");
    }

    protected override int Assign(double u, string? label, RecordReader reader)
    {
        if (!_cdfs.TryGetValue(label!, out var cdf))
        {
            var p = GroupProbabilities(label!);
            if (p.Length == 0)
                throw new GrouperException(GrouperErrorKind.InvalidKey, $"The label '{label}' in {reader?.Location} is not one of the scheme's labels ({string.Join(", ", Labels!)}).",
                    reader?.SourceName, reader?.RowNumber ?? 0);
            _cdfs[label!] = cdf = Cdf(p);
        }
        return Pick(cdf, u);
    }
}

/// <summary>
/// Pathological (shard) skew: every group holds records of only C labels. Group j's first label is
/// label j mod L (so with N ≥ L every label is held), the other C-1 are drawn without replacement; a
/// record goes to one of the groups holding its label, uniformly.
/// </summary>
public sealed class ShardScheme : SchemeKeySpec
{
    private readonly Dictionary<string, int[]> _holders = new(StringComparer.Ordinal);

    public ShardScheme(int groupCount, string labelColumn, int labelsPerGroup, IReadOnlyList<string> labels, long seed = 0, string? idColumn = null)
        : base(groupCount, seed, idColumn)
    {
        Labels = labels.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        if (Labels.Count == 0) throw new GrouperException(GrouperErrorKind.InvalidArgument, "The shard scheme needs the set of labels.");
        if (labelsPerGroup < 1 || labelsPerGroup > Labels.Count)
            throw new GrouperException(GrouperErrorKind.InvalidArgument, $"Labels per group must be between 1 and {Labels.Count} (it is {labelsPerGroup}).");
        Label = labelColumn;
        LabelsPerGroup = labelsPerGroup;
        var holders = Labels.ToDictionary(l => l, _ => new List<int>(), StringComparer.Ordinal);
        GroupLabels = new List<IReadOnlyList<string>>();
        for (int j = 0; j < groupCount; j++)
        {
            var rng = new SplitMix64(StableRandom.Derive(Seed, $"shard:{j}"));
            var chosen = new List<int> { j % Labels.Count };
            var rest = Enumerable.Range(0, Labels.Count).Where(i => i != chosen[0]).ToList();
            for (int k = 1; k < labelsPerGroup; k++)
            {
                int pick = (int)(rng.NextUInt64() % (ulong)rest.Count);
                chosen.Add(rest[pick]);
                rest.RemoveAt(pick);
            }
            GroupLabels.Add(chosen.Order().Select(i => Labels[i]).ToList());
            foreach (var i in chosen) holders[Labels[i]].Add(j);
        }
        var orphans = holders.Where(h => h.Value.Count == 0).Select(h => h.Key).ToList();
        if (orphans.Count > 0)
            throw new GrouperException(GrouperErrorKind.InvalidArgument,
                $"{groupCount} groups of {labelsPerGroup} labels cannot hold all {Labels.Count} labels (none holds {string.Join(", ", orphans.Take(5))}); use more groups or more labels per group.");
        foreach (var (l, g) in holders) _holders[l] = g.ToArray();
    }

    public string Label { get; }
    public int LabelsPerGroup { get; }
    public IReadOnlyList<string> Labels { get; }
    /// <summary>The labels each group holds.</summary>
    public List<IReadOnlyList<string>> GroupLabels { get; }

    protected override string? LabelColumn => Label;
    public override string KindName => "shard";
    public override string Describe() => $"shards of {LabelsPerGroup} labels of {Label} into {GroupCount} groups (seed {Seed})";
    protected override void AddParameters(Dictionary<string, string> p)
    {
        p["labelColumn"] = Label;
        p["labelsPerGroup"] = LabelsPerGroup.ToString(CultureInfo.InvariantCulture);
        p["labels"] = string.Join(",", Labels);
    }

    protected override int Assign(double u, string? label, RecordReader reader)
    {
        if (!_holders.TryGetValue(label!, out var h))
            throw new GrouperException(GrouperErrorKind.InvalidKey, $"The label '{label}' in {reader?.Location} is not one of the scheme's labels.", reader?.SourceName, reader?.RowNumber ?? 0);
        return h[Math.Min((int)(u * h.Length), h.Length - 1)];
    }
}

/// <summary>Reads the label column of input files: the distinct labels and their counts (memory: one entry per label).</summary>
public static class LabelScan
{
    /// <summary>How many records hold each label, over all the files; <paramref name="format"/> is the files' format when the
    /// build names it (a .txt CSV), null to tell it by extension.</summary>
    public static SortedDictionary<string, long> Count(IEnumerable<string> files, string labelColumn, CancellationToken ct = default, SourceFormat? format = null) =>
        Count(files, labelColumn, SourceOptions.Of(format), ct);

    /// <summary>How many records hold each label, over all the files, read as the build reads them (format, delimiter, quoting).</summary>
    public static SortedDictionary<string, long> Count(IEnumerable<string> files, string labelColumn, SourceOptions options, CancellationToken ct = default)
    {
        var counts = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var text = new StringBuilder();
        foreach (var file in files)
        {
            using var r = SourceFiles.Open(file, options);
            int o = -1;
            long n = 0;
            while (r.Read())
            {
                if (o < 0) o = r.FindOrdinal(labelColumn);
                if (o < 0 && !r.IsSchemaFlexible)
                    throw new GrouperException(GrouperErrorKind.MissingColumn, $"The label column '{labelColumn}' is not in {file}.", file, r.RowNumber);
                text.Clear();
                if (o >= 0) KeyText.Append(r, o, text, escape: false);
                if (text.Length == 0)
                    throw new GrouperException(GrouperErrorKind.InvalidKey, $"Column '{labelColumn}' is null or empty in {r.Location}; the partition scheme needs it.", file, r.RowNumber);
                var label = text.ToString();
                counts[label] = counts.GetValueOrDefault(label) + 1;
                if ((++n & 0xFFF) == 0) ct.ThrowIfCancellationRequested();
            }
        }
        return counts;
    }
}
