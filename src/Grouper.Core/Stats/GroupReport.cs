using System.Globalization;
using System.Net;
using System.Text;
using Grouper.Format;
using Grouper.Partitioning;
using Grouper.Reading;

namespace Grouper.Stats;

/// <summary>What goes into a report.</summary>
public sealed class ReportOptions
{
    /// <summary>A label column: adds label heterogeneity and a heatmap of label mix per group.</summary>
    public string? LabelColumn { get; init; }
    /// <summary>Rows of the largest-groups table.</summary>
    public int TopGroups { get; init; } = 20;
    /// <summary>Groups in the heatmap: a seeded sample (xxHash3 of key and <see cref="Seed"/>).</summary>
    public int HeatmapGroups { get; init; } = 40;
    /// <summary>Labels in the heatmap: the most frequent; the rest are summed as "(other)".</summary>
    public int HeatmapLabels { get; init; } = 20;
    public long Seed { get; init; }
}

/// <summary>
/// A self-contained HTML report of a dataset (no network fetches): the manifest summary, a histogram of
/// group sizes on log-scale bins, the CDF of group sizes, the largest groups and, with a label column,
/// label heterogeneity and a heatmap of the label mix of a sample of groups. Charts are inline SVG.
/// The numbers come from <see cref="GroupSizeStats"/> and <see cref="ContentStats"/>, as Measure-GroupStats shows them.
/// </summary>
public static class GroupReport
{
    public static void Write(GroupedDataset ds, string path, ReportOptions? options = null, CancellationToken ct = default)
    {
        options ??= new ReportOptions();
        var acc = new GroupSizeStats.Accumulator();
        var top = new PriorityQueue<GroupInfo, (long, string)>(Comparer<(long Records, string Key)>.Create((a, b) =>
            a.Records != b.Records ? a.Records.CompareTo(b.Records) : string.CompareOrdinal(b.Key, a.Key)));
        var sample = new PriorityQueue<GroupInfo, ulong>(Comparer<ulong>.Create((a, b) => b.CompareTo(a)));
        foreach (var g in ds.EnumerateGroups())
        {
            acc.Add(g.RecordCount, g.ByteCount);
            top.Enqueue(g, (g.RecordCount, g.Key));
            if (top.Count > options.TopGroups) top.Dequeue();
            sample.Enqueue(g, StableRandom.Hash(g.Key, options.Seed));
            if (sample.Count > options.HeatmapGroups) sample.Dequeue();
        }
        ct.ThrowIfCancellationRequested();
        var stats = acc.Result();
        var hist = acc.Histogram();
        var largest = Drain(top).OrderByDescending(g => g.RecordCount).ThenBy(g => g.Key, StringComparer.Ordinal).ToList();
        var sampled = Drain(sample).OrderBy(g => g.Ordinal).ToList();

        var html = new StringBuilder();
        html.Append("""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>Grouper report</title>
            <style>
            body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#1b1f24;padding:0 1rem}
            h1{font-size:1.6rem;margin-bottom:.2rem} h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #d0d7de;padding-bottom:.3rem}
            table{border-collapse:collapse;font-size:.9rem} td,th{padding:.25rem .7rem;border-bottom:1px solid #eaeef2;text-align:left}
            td.n,th.n{text-align:right;font-variant-numeric:tabular-nums} .muted{color:#57606a} .grid{display:flex;flex-wrap:wrap;gap:1.5rem}
            svg text{font-size:11px;fill:#333} .chart{border:1px solid #eaeef2;border-radius:6px;background:#fff}
            </style></head><body>
            """);
        var m = ds.Manifest;
        html.Append($"<h1>{E(System.IO.Path.GetFileName(ds.Path))}</h1><p class=\"muted\">{E(ds.Path)} · {E(m.CreatedBy)} · format {m.FormatVersion}</p>");
        html.Append("<h2>Dataset</h2><table>");
        Row(html, "Key", m.Key.Description);
        if (m.Key.Parameters is { Count: > 0 } kp) Row(html, "Key parameters", string.Join(", ", kp.Select(p => $"{p.Key}={p.Value}")));
        Row(html, "Groups", N(stats.GroupCount));
        Row(html, "Records", N(stats.RecordCount));
        Row(html, "Bytes (encoded)", N(stats.ByteCount));
        Row(html, "Columns", string.Join(", ", m.Schema.Select(c => $"{c.Name}: {c.Type}{(c.Nullable ? "?" : "")}")));
        Row(html, "Shards", $"{m.Shards.Count} ({N(m.Shards.Sum(s => s.Bytes))} bytes on disk)");
        Row(html, "Sources", string.Join(", ", m.Sources.Select(s => System.IO.Path.GetFileName(s.Path))));
        html.Append("</table>");

        html.Append("<h2>Group sizes</h2><table id=\"size-stats\">");
        foreach (var (k, v) in SizeRows(stats)) html.Append($"<tr><th>{E(k)}</th><td class=\"n\" data-stat=\"{E(k)}\">{E(v)}</td></tr>");
        html.Append("</table><div class=\"grid\">");
        html.Append(Histogram(hist));
        html.Append(Cdf(hist, stats.RecordCount));
        html.Append("</div>");

        html.Append($"<h2>Largest groups</h2><table id=\"largest\"><tr><th>Key</th><th class=\"n\">Records</th><th class=\"n\">Bytes</th><th class=\"n\">Share of records</th></tr>");
        foreach (var g in largest)
            html.Append($"<tr><td>{E(g.Key)}</td><td class=\"n\">{N(g.RecordCount)}</td><td class=\"n\">{N(g.ByteCount)}</td><td class=\"n\">{P((double)g.RecordCount / Math.Max(1, stats.RecordCount))}</td></tr>");
        html.Append("</table>");

        if (options.LabelColumn is { } lc)
        {
            IReadOnlyDictionary<string, long> global = new Dictionary<string, long>();
            var summary = ContentStats.Summarize(ContentStats.PerGroup(ds, ds.EnumerateGroups(), lc, null, null, ct, g => global = g), 0);
            html.Append($"<h2>Labels: {E(lc)}</h2><table id=\"label-stats\"><tr><th></th><th class=\"n\">mean</th><th class=\"n\">min</th><th class=\"n\">max</th></tr>");
            void S(string name, Summary? s) { if (s is not null) html.Append($"<tr><th>{name}</th><td class=\"n\">{F(s.Mean)}</td><td class=\"n\">{F(s.Min)}</td><td class=\"n\">{F(s.Max)}</td></tr>"); }
            S("Distinct labels per group", summary.DistinctLabels);
            S("Label entropy (bits)", summary.Entropy);
            S("Jensen–Shannon from global", summary.JensenShannon);
            S("Hellinger from global", summary.Hellinger);
            S("Earth mover's from global", summary.EarthMovers);
            var missing = summary.MissingLabels is long unlabelled and > 0 ? $" {N(unlabelled)} records without a label (null or blank) are left out." : "";
            html.Append($"</table><p class=\"muted\">{global.Count} labels in all.{missing} Heatmap: label mix of {sampled.Count} groups sampled by seed {options.Seed}.</p>");
            html.Append(Heatmap(ds, sampled, lc, global, options.HeatmapLabels, ct));
        }

        // Lets tests (and curious readers) check that every chart rendered with a size.
        html.Append("""
            <script>
            document.body.dataset.charts = JSON.stringify(Array.from(document.querySelectorAll('svg.chart')).map(s => {
              const r = s.getBoundingClientRect(); return { id: s.id, width: Math.round(r.width), height: Math.round(r.height), marks: s.querySelectorAll('.mark').length };
            }));
            </script></body></html>
            """);
        File.WriteAllText(path, html.ToString(), new UTF8Encoding(false));
    }

    public static IEnumerable<(string, string)> SizeRows(GroupSizeStats s) =>
    [
        ("min", N(s.MinRecords)), ("p10", N(s.P10Records)), ("median", F(s.MedianRecords)), ("mean", F(s.MeanRecords)), ("p90", N(s.P90Records)),
        ("p99", N(s.P99Records)), ("max", N(s.MaxRecords)), ("standard deviation", F(s.StdDevRecords)), ("Gini", F(s.Gini)),
        ("records in the largest 1% of groups", P(s.Top1PercentShare)),
    ];

    private static List<GroupInfo> Drain<T>(PriorityQueue<GroupInfo, T> q)
    {
        var l = new List<GroupInfo>();
        while (q.Count > 0) l.Add(q.Dequeue());
        return l;
    }

    private static void Row(StringBuilder html, string k, string v) => html.Append($"<tr><th>{E(k)}</th><td>{E(v)}</td></tr>");
    private static string E(string s) => WebUtility.HtmlEncode(s);
    private static string N(long v) => v.ToString("N0", CultureInfo.InvariantCulture);
    private static string F(double v) => v.ToString("0.####", CultureInfo.InvariantCulture);
    private static string P(double v) => (v * 100).ToString("0.##", CultureInfo.InvariantCulture) + "%";
    private static string D(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);

    private const int W = 520, H = 300, L = 60, R = 20, T = 30, B = 50;

    /// <summary>Groups per size bin, bins doubling (1, 2–3, 4–7, …): a log-scale x axis.</summary>
    private static string Histogram(IReadOnlyList<(long Size, long Groups)> hist)
    {
        var bins = new SortedDictionary<int, long>();
        foreach (var (size, groups) in hist)
        {
            int b = size <= 0 ? 0 : 63 - System.Numerics.BitOperations.LeadingZeroCount((ulong)size);
            bins[b] = bins.GetValueOrDefault(b) + groups;
        }
        var sb = new StringBuilder($"<svg class=\"chart\" id=\"size-histogram\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" role=\"img\"><title>Histogram of group sizes (log-scale bins)</title>");
        sb.Append($"<text x=\"{L}\" y=\"18\" font-weight=\"600\">Groups by size (records, bins doubling)</text>");
        if (bins.Count > 0)
        {
            int first = bins.Keys.First(), last = bins.Keys.Last();
            int n = last - first + 1;
            double bw = (W - L - R) / (double)n;
            long max = bins.Values.Max();
            for (int b = first; b <= last; b++)
            {
                long v = bins.GetValueOrDefault(b);
                double h = (H - T - B) * v / (double)max;
                double x = L + (b - first) * bw;
                long lo = 1L << b, hi = (1L << (b + 1)) - 1;
                sb.Append($"<rect class=\"mark\" x=\"{D(x + 1)}\" y=\"{D(H - B - h)}\" width=\"{D(Math.Max(1, bw - 2))}\" height=\"{D(h)}\" fill=\"#4c78a8\"><title>{N(lo)}–{N(hi)} records: {N(v)} groups</title></rect>");
                if (n <= 24 || (b - first) % 2 == 0)
                    sb.Append($"<text x=\"{D(x + bw / 2)}\" y=\"{H - B + 14}\" text-anchor=\"middle\">{Short(lo)}</text>");
            }
            sb.Append($"<text x=\"{L - 6}\" y=\"{T + 4}\" text-anchor=\"end\">{N(max)}</text><text x=\"{L - 6}\" y=\"{H - B}\" text-anchor=\"end\">0</text>");
        }
        Axes(sb, "records per group (log scale)", "groups");
        return sb.Append("</svg>").ToString();
    }

    /// <summary>Share of groups, and of records, in groups of at most a given size; log-scale x.</summary>
    private static string Cdf(IReadOnlyList<(long Size, long Groups)> hist, long records)
    {
        var sb = new StringBuilder($"<svg class=\"chart\" id=\"size-cdf\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" role=\"img\"><title>CDF of group sizes</title>");
        sb.Append($"<text x=\"{L}\" y=\"18\" font-weight=\"600\">Cumulative share by group size</text>");
        if (hist.Count > 0)
        {
            double lmin = Math.Log10(Math.Max(1, hist[0].Size)), lmax = Math.Log10(Math.Max(1, hist[^1].Size));
            if (lmax - lmin < 1e-9) lmax = lmin + 1;
            double X(long size) => L + (W - L - R) * (Math.Log10(Math.Max(1, size)) - lmin) / (lmax - lmin);
            double Y(double f) => H - B - (H - T - B) * f;
            long groups = hist.Sum(h => h.Groups);
            var g = new StringBuilder(); var r = new StringBuilder();
            double cg = 0, cr = 0;
            foreach (var (size, count) in hist)
            {
                cg += count; cr += (double)size * count;
                g.Append($"{D(X(size))},{D(Y(cg / groups))} ");
                r.Append($"{D(X(size))},{D(Y(records == 0 ? 0 : cr / records))} ");
            }
            sb.Append($"<polyline class=\"mark\" fill=\"none\" stroke=\"#4c78a8\" stroke-width=\"2\" points=\"{g}\"><title>share of groups</title></polyline>");
            sb.Append($"<polyline class=\"mark\" fill=\"none\" stroke=\"#f58518\" stroke-width=\"2\" points=\"{r}\"><title>share of records</title></polyline>");
            for (int e = (int)Math.Ceiling(lmin); e <= (int)Math.Floor(lmax); e++)
                sb.Append($"<text x=\"{D(X((long)Math.Pow(10, e)))}\" y=\"{H - B + 14}\" text-anchor=\"middle\">{Short((long)Math.Pow(10, e))}</text>");
            sb.Append($"<text x=\"{L - 6}\" y=\"{T + 4}\" text-anchor=\"end\">100%</text><text x=\"{L - 6}\" y=\"{H - B}\" text-anchor=\"end\">0%</text>");
            sb.Append($"<rect x=\"{W - R - 150}\" y=\"{T}\" width=\"10\" height=\"10\" fill=\"#4c78a8\"/><text x=\"{W - R - 135}\" y=\"{T + 9}\">groups</text>");
            sb.Append($"<rect x=\"{W - R - 150}\" y=\"{T + 16}\" width=\"10\" height=\"10\" fill=\"#f58518\"/><text x=\"{W - R - 135}\" y=\"{T + 25}\">records</text>");
        }
        Axes(sb, "records per group (log scale)", "cumulative share");
        return sb.Append("</svg>").ToString();
    }

    private static void Axes(StringBuilder sb, string x, string y)
    {
        sb.Append($"<line x1=\"{L}\" y1=\"{H - B}\" x2=\"{W - R}\" y2=\"{H - B}\" stroke=\"#888\"/><line x1=\"{L}\" y1=\"{T}\" x2=\"{L}\" y2=\"{H - B}\" stroke=\"#888\"/>");
        sb.Append($"<text x=\"{(L + W - R) / 2}\" y=\"{H - 12}\" text-anchor=\"middle\">{E(x)}</text>");
        sb.Append($"<text transform=\"translate(14,{(T + H - B) / 2}) rotate(-90)\" text-anchor=\"middle\">{E(y)}</text>");
    }

    private static string Short(long v) => v >= 1_000_000 ? $"{v / 1_000_000}M" : v >= 1000 ? $"{v / 1000}k" : v.ToString(CultureInfo.InvariantCulture);

    private static string Heatmap(GroupedDataset ds, IReadOnlyList<GroupInfo> groups, string labelColumn, IReadOnlyDictionary<string, long> global, int maxLabels, CancellationToken ct)
    {
        int[] label = [ds.ColumnIndex(labelColumn)]; // only the label column is decoded
        var labels = global.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).Take(maxLabels).Select(p => p.Key).ToList();
        // Numeric labels read best in numeric order; others stay most frequent first.
        if (labels.All(l => ContentStats.TryNumeric(l, out _)))
            labels = labels.OrderBy(l => { ContentStats.TryNumeric(l, out var v); return v; }).ToList();
        bool other = global.Count > labels.Count;
        var columns = other ? labels.Append("(other)").ToList() : labels;
        var index = labels.Select((l, i) => (l, i)).ToDictionary(x => x.l, x => x.i, StringComparer.Ordinal);
        const int cell = 18, left = 170, topPad = 110;
        int width = left + columns.Count * cell + 20, height = topPad + groups.Count * cell + 20;
        var sb = new StringBuilder($"<svg class=\"chart\" id=\"label-heatmap\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\"><title>Label mix per group</title>");
        for (int j = 0; j < columns.Count; j++)
            sb.Append($"<text transform=\"translate({left + j * cell + cell / 2 + 4},{topPad - 6}) rotate(-60)\">{E(Trim(columns[j], 18))}</text>");
        for (int i = 0; i < groups.Count; i++)
        {
            var g = groups[i];
            var counts = new double[columns.Count];
            // A record without a label is in no column (the last one took it, "(other)" or not).
            foreach (var r in ds.ReadRecords(g, label, ct))
                if (ContentStats.LabelOf(r[0]) is { } l) counts[index.TryGetValue(l, out var k) ? k : columns.Count - 1]++;
            var p = ContentStats.Normalize(counts);
            int y = topPad + i * cell;
            sb.Append($"<text x=\"{left - 6}\" y=\"{y + 13}\" text-anchor=\"end\">{E(Trim(g.Key, 26))}</text>");
            for (int j = 0; j < columns.Count; j++)
            {
                // White (0) to dark blue (1).
                int shade = (int)Math.Round(255 - 225 * p[j]);
                sb.Append($"<rect class=\"mark\" x=\"{left + j * cell}\" y=\"{y}\" width=\"{cell - 1}\" height=\"{cell - 1}\" fill=\"rgb({shade},{shade},255)\"><title>{E(g.Key)} · {E(columns[j])}: {P(p[j])}</title></rect>");
            }
        }
        return sb.Append("</svg>").ToString();
    }

    private static string Trim(string s, int n) => s.Length <= n ? s : s[..(n - 1)] + "…";
}
