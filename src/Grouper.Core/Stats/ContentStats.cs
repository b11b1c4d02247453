using System.Globalization;
using Grouper.Format;
using Grouper.Keys;
using Grouper.Reading;

namespace Grouper.Stats;

/// <summary>What one group holds: its label mix against the whole dataset's, and the size of its text.</summary>
/// <param name="Key">The group key.</param>
/// <param name="Records">Records in the group.</param>
/// <param name="Bytes">Encoded bytes of the group.</param>
/// <param name="DistinctLabels">Labels that occur in the group.</param>
/// <param name="Entropy">Shannon entropy of the group's label distribution, in bits.</param>
/// <param name="JensenShannon">Jensen–Shannon divergence (base 2, 0…1) from the global label distribution.</param>
/// <param name="Hellinger">Hellinger distance (0…1) from the global label distribution.</param>
/// <param name="EarthMovers">Earth mover's distance from the global distribution over the ordered labels:
/// by their numeric values when every label is a finite number, else by rank in ordinal order (neighbours 1 apart).</param>
/// <param name="Words">Runs of non-whitespace (Unicode whitespace separates words).</param>
/// <param name="Characters">Unicode scalar values.</param>
/// <param name="MissingLabels">Records whose label is null or blank, left out of the label measures. A group
/// of no labelled record has no label distribution: its entropy and distances are null.</param>
public sealed record GroupContentRow(string Key, long Records, long Bytes,
    int? DistinctLabels = null, double? Entropy = null, double? JensenShannon = null, double? Hellinger = null, double? EarthMovers = null,
    long? Words = null, long? Characters = null, long? MissingLabels = null);

/// <summary>Mean and largest value of a per-group measure.</summary>
public sealed record Summary(double Mean, double Min, double Max)
{
    public static Summary? Of(IReadOnlyCollection<double> values) => values.Count == 0 ? null : new(values.Average(), values.Min(), values.Max());
}

/// <summary>The dataset-wide summary of <see cref="GroupContentRow"/>s.</summary>
public sealed record ContentSummary(int LabelCount, Summary? DistinctLabels, Summary? Entropy, Summary? JensenShannon, Summary? Hellinger,
    Summary? EarthMovers, long? TotalWords, long? TotalCharacters, Summary? Words, Summary? Characters, long? MissingLabels = null);

/// <summary>
/// Label heterogeneity and text size per group, in one pass over the records: memory holds one group's
/// label counts and the global ones (one entry per label), never a group's records; the per-group
/// counts wait in a temporary file until the global distribution is known.
/// </summary>
public static class ContentStats
{
    /// <summary>
    /// A value's label, or null when it has none: a null or blank value is a missing label, not a label of its
    /// own (one such record would make a numeric column's labels text, and add a label no record has).
    /// </summary>
    public static string? LabelOf(object? v)
    {
        if (v is null) return null;
        var label = KeyText.Format(v);
        return string.IsNullOrWhiteSpace(label) ? null : label;
    }

    /// <summary>
    /// A label's value when it is a finite number. NaN, the infinities and numbers beyond a double (1e400)
    /// have no place on the number line, and would make every distance NaN.
    /// </summary>
    public static bool TryNumeric(string label, out double value) =>
        double.TryParse(label, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);

    /// <summary>Label counts over the given groups (all groups when null); missing labels are not counted.</summary>
    public static SortedDictionary<string, long> GlobalLabelCounts(GroupedDataset ds, string labelColumn, IEnumerable<GroupInfo>? groups = null, CancellationToken ct = default)
    {
        int c = ds.ColumnIndex(labelColumn);
        var counts = new SortedDictionary<string, long>(StringComparer.Ordinal);
        int[] label = [c]; // only the label column is decoded
        foreach (var g in groups ?? ds.EnumerateGroups())
            foreach (var r in ds.ReadRecords(g, label, ct))
                if (LabelOf(r[0]) is { } l) counts[l] = counts.GetValueOrDefault(l) + 1;
        return counts;
    }

    /// <summary>
    /// Measures each group. With a label column and no <paramref name="globalLabels"/>, the records are read
    /// once: each group's label counts go to a temporary file while the global counts add up, then the
    /// distances are computed from that file (<paramref name="onGlobal"/> receives the global counts).
    /// </summary>
    public static IEnumerable<GroupContentRow> PerGroup(GroupedDataset ds, IEnumerable<GroupInfo> groups, string? labelColumn, string? textColumn,
        IReadOnlyDictionary<string, long>? globalLabels = null, CancellationToken ct = default, Action<IReadOnlyDictionary<string, long>>? onGlobal = null)
    {
        int lc = labelColumn is null ? -1 : ds.ColumnIndex(labelColumn);
        int tc = textColumn is null ? -1 : ds.ColumnIndex(textColumn);
        if (lc < 0 && tc < 0) return groups.Select(g => new GroupContentRow(g.Key, g.RecordCount, g.ByteCount));
        if (lc >= 0 && globalLabels is null) return OnePass(ds, groups, lc, tc, ct, onGlobal);
        if (globalLabels is not null) onGlobal?.Invoke(globalLabels);
        return WithGlobal(ds, groups, lc, tc, lc >= 0 ? new LabelSpace(globalLabels!) : null, ct);
    }

    // Only the label and text columns are decoded: record r of a projection holds r[0] the label (when
    // there is a label column) and then the text.
    private static int[] Projection(int lc, int tc, out int label, out int text)
    {
        var cols = new List<int>(2);
        label = lc < 0 ? -1 : cols.Count;
        if (lc >= 0) cols.Add(lc);
        text = tc < 0 ? -1 : cols.Count;
        if (tc >= 0) cols.Add(tc);
        return cols.ToArray();
    }

    private static IEnumerable<GroupContentRow> WithGlobal(GroupedDataset ds, IEnumerable<GroupInfo> groups, int lc, int tc, LabelSpace? space, CancellationToken ct)
    {
        var projection = Projection(lc, tc, out lc, out tc);
        foreach (var g in groups)
        {
            var counts = space is null ? null : new Dictionary<string, long>(StringComparer.Ordinal);
            long words = 0, chars = 0, missing = 0;
            foreach (var r in ds.ReadRecords(g, projection, ct))
            {
                if (counts is not null)
                {
                    if (LabelOf(r[lc]) is { } l) counts[l] = counts.GetValueOrDefault(l) + 1;
                    else missing++;
                }
                if (tc >= 0 && r[tc] is { } t) CountText(KeyText.Format(t), ref words, ref chars);
            }
            yield return Row(g.Key, g.RecordCount, g.ByteCount, counts, missing, space, tc >= 0 ? words : null, tc >= 0 ? chars : null);
        }
    }

    private static IEnumerable<GroupContentRow> OnePass(GroupedDataset ds, IEnumerable<GroupInfo> groups, int lc, int tc, CancellationToken ct,
        Action<IReadOnlyDictionary<string, long>>? onGlobal)
    {
        var temp = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"grouper-stats-{Environment.ProcessId}-{Guid.NewGuid():N}.bin");
        try
        {
            var global = new SortedDictionary<string, long>(StringComparer.Ordinal);
            using (var w = new BinaryWriter(new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.None)))
            {
                var counts = new Dictionary<string, long>(StringComparer.Ordinal);
                var projection = Projection(lc, tc, out lc, out tc);
                foreach (var g in groups)
                {
                    counts.Clear();
                    long words = 0, chars = 0, missing = 0;
                    foreach (var r in ds.ReadRecords(g, projection, ct))
                    {
                        if (LabelOf(r[lc]) is { } l) counts[l] = counts.GetValueOrDefault(l) + 1;
                        else missing++;
                        if (tc >= 0 && r[tc] is { } t) CountText(KeyText.Format(t), ref words, ref chars);
                    }
                    w.Write(g.Key); w.Write(g.RecordCount); w.Write(g.ByteCount); w.Write(words); w.Write(chars); w.Write(missing); w.Write(counts.Count);
                    foreach (var (l, n) in counts)
                    {
                        w.Write(l); w.Write(n);
                        global[l] = global.GetValueOrDefault(l) + n;
                    }
                }
            }
            onGlobal?.Invoke(global);
            var space = new LabelSpace(global);
            using var rd = new BinaryReader(new FileStream(temp, FileMode.Open, FileAccess.Read, FileShare.None, 1 << 16, FileOptions.SequentialScan));
            var groupCounts = new Dictionary<string, long>(StringComparer.Ordinal);
            while (rd.BaseStream.Position < rd.BaseStream.Length)
            {
                string key = rd.ReadString();
                long records = rd.ReadInt64(), bytes = rd.ReadInt64(), words = rd.ReadInt64(), chars = rd.ReadInt64(), missing = rd.ReadInt64();
                int n = rd.ReadInt32();
                groupCounts.Clear();
                for (int i = 0; i < n; i++) groupCounts[rd.ReadString()] = rd.ReadInt64();
                yield return Row(key, records, bytes, groupCounts, missing, space, tc >= 0 ? words : null, tc >= 0 ? chars : null);
            }
        }
        finally
        {
            try { File.Delete(temp); } catch (IOException) { }
        }
    }

    private static GroupContentRow Row(string key, long records, long bytes, Dictionary<string, long>? counts, long missing, LabelSpace? space,
        long? words, long? chars)
    {
        var row = new GroupContentRow(key, records, bytes, Words: words, Characters: chars);
        if (counts is null || space is null) return row;
        row = row with { DistinctLabels = counts.Count(x => x.Value > 0), MissingLabels = missing };
        // No labelled record, no distribution: zeros would pass for one, at a distance from the global one.
        if (counts.Values.Sum() == 0) return row;
        var v = new double[space.Labels.Length];
        foreach (var (l, n) in counts) v[space.Index(l)] += n;
        var p = Normalize(v);
        return row with
        {
            Entropy = Entropy(p),
            JensenShannon = JensenShannon(p, space.Global),
            Hellinger = Hellinger(p, space.Global),
            EarthMovers = EarthMovers(p, space.Global, space.Positions),
        };
    }

    public static ContentSummary Summarize(IEnumerable<GroupContentRow> rows, int labelCount)
    {
        var d = new List<double>(); var e = new List<double>(); var js = new List<double>(); var h = new List<double>(); var emd = new List<double>();
        var w = new List<double>(); var c = new List<double>();
        long? missing = null;
        foreach (var r in rows)
        {
            if (r.DistinctLabels is { } dl) { d.Add(dl); missing = (missing ?? 0) + r.MissingLabels; }
            if (r.Entropy is not null) { e.Add(r.Entropy.Value); js.Add(r.JensenShannon!.Value); h.Add(r.Hellinger!.Value); emd.Add(r.EarthMovers!.Value); }
            if (r.Words is { } wo) { w.Add(wo); c.Add(r.Characters!.Value); }
        }
        return new ContentSummary(labelCount, Summary.Of(d), Summary.Of(e), Summary.Of(js), Summary.Of(h), Summary.Of(emd),
            w.Count > 0 ? (long)w.Sum() : null, c.Count > 0 ? (long)c.Sum() : null, Summary.Of(w), Summary.Of(c), missing);
    }

    /// <summary>Words are maximal runs of non-whitespace (any Unicode whitespace); characters are Unicode scalar values.</summary>
    public static void CountText(string text, ref long words, ref long chars)
    {
        bool inWord = false;
        foreach (var rune in text.EnumerateRunes())
        {
            chars++;
            bool space = System.Text.Rune.IsWhiteSpace(rune);
            if (!space && !inWord) words++;
            inWord = !space;
        }
    }

    public static double[] Normalize(double[] counts)
    {
        double sum = counts.Sum();
        return sum == 0 ? counts.ToArray() : counts.Select(x => x / sum).ToArray();
    }

    public static double Entropy(double[] p) => Math.Max(0, -p.Where(x => x > 0).Sum(x => x * Math.Log2(x)));

    public static double JensenShannon(double[] p, double[] q)
    {
        double js = 0;
        for (int i = 0; i < p.Length; i++)
        {
            double m = (p[i] + q[i]) / 2;
            if (p[i] > 0) js += 0.5 * p[i] * Math.Log2(p[i] / m);
            if (q[i] > 0) js += 0.5 * q[i] * Math.Log2(q[i] / m);
        }
        return Math.Clamp(js, 0, 1);
    }

    public static double Hellinger(double[] p, double[] q)
    {
        double bc = 0;
        for (int i = 0; i < p.Length; i++) bc += Math.Sqrt(p[i] * q[i]);
        return Math.Sqrt(Math.Max(0, 1 - bc));
    }

    /// <summary>EMD between distributions over ordered points: Σ |F_p − F_q| · gap to the next point.</summary>
    public static double EarthMovers(double[] p, double[] q, double[] positions)
    {
        double fp = 0, fq = 0, emd = 0;
        for (int i = 0; i < p.Length - 1; i++)
        {
            fp += p[i];
            fq += q[i];
            emd += Math.Abs(fp - fq) * (positions[i + 1] - positions[i]);
        }
        return emd;
    }

    /// <summary>The labels in a fixed order (numeric when all are finite numbers), with the global distribution.</summary>
    private sealed class LabelSpace
    {
        private readonly Dictionary<string, int> _index;

        public LabelSpace(IReadOnlyDictionary<string, long> global)
        {
            bool numeric = global.Keys.All(k => TryNumeric(k, out _));
            double Value(string k) { TryNumeric(k, out var v); return v; }
            var ordered = numeric ? global.Keys.OrderBy(Value).ToArray() : global.Keys.Order(StringComparer.Ordinal).ToArray();
            Labels = ordered;
            Positions = numeric ? ordered.Select(Value).ToArray() : ordered.Select((_, i) => (double)i).ToArray();
            _index = ordered.Select((l, i) => (l, i)).ToDictionary(x => x.l, x => x.i, StringComparer.Ordinal);
            Global = Normalize(ordered.Select(l => (double)global[l]).ToArray());
        }

        public string[] Labels { get; }
        public double[] Positions { get; }
        public double[] Global { get; }

        public int Index(string label) => _index.TryGetValue(label, out var i) ? i
            : throw new GrouperException(GrouperErrorKind.InvalidData, $"The label '{label}' is not in the global label counts.");
    }
}
