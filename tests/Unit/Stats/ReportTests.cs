using System.Diagnostics;
using System.Text.Json;
using Grouper.Keys;
using Grouper.Reading;
using Grouper.Schema;
using Grouper.Stats;
using Grouper.Writer;
using Xunit;
using Xunit.Abstractions;
using static Grouper.Tests.TestRecords;

namespace Grouper.Tests.Stats;

public class ReportTests(ITestOutputHelper output)
{
    private static string BuildLabelled(TempDir t)
    {
        var rng = new Random(3);
        var rows = new List<object?[]>();
        for (int g = 0; g < 300; g++)
        {
            int n = (int)Math.Max(1, 2000 / Math.Pow(g + 1, 1.1));
            for (int i = 0; i < n; i++) rows.Add([$"user{g:D3}", (long)((g % 5) + rng.Next(3)), $"word {i} and more"]);
        }
        using var b = new GroupedDatasetBuilder(t["ds"], new BuildOptions { Key = KeySpec.FromColumns("user") });
        using (var r = new TestRecords("in", [Col("user", ValueKind.String), Col("label", ValueKind.Int64), Col("text", ValueKind.String)], rows)) b.AddAll(r);
        b.Complete();
        return t["ds"];
    }

    [Fact]
    public void The_report_is_self_contained_and_its_numbers_match_the_statistics()
    {
        using var t = new TempDir();
        using var ds = GroupedDataset.Open(BuildLabelled(t));
        GroupReport.Write(ds, t["r.html"], new ReportOptions { LabelColumn = "label" });
        var html = File.ReadAllText(t["r.html"]);
        Assert.DoesNotContain("http://", html.Replace("http://www.w3.org/2000/svg", ""));
        Assert.DoesNotContain("https://", html);
        Assert.DoesNotContain("<link", html);
        Assert.Contains("id=\"size-histogram\"", html);
        Assert.Contains("id=\"size-cdf\"", html);
        Assert.Contains("id=\"label-heatmap\"", html);
        var stats = GroupSizeStats.Compute(ds.EnumerateGroups());
        foreach (var (name, value) in GroupReport.SizeRows(stats))
            Assert.Contains($"data-stat=\"{name}\">{System.Net.WebUtility.HtmlEncode(value)}<", html);
        Assert.Equal(stats, ds.Manifest.Stats); // computed at build time too
    }

    [Fact]
    public void One_pass_label_measures_equal_two_pass_ones()
    {
        using var t = new TempDir();
        using var ds = GroupedDataset.Open(BuildLabelled(t));
        IReadOnlyDictionary<string, long>? seen = null;
        var onePass = ContentStats.PerGroup(ds, ds.EnumerateGroups(), "label", "text", null, default, g => seen = g).ToList();
        var global = ContentStats.GlobalLabelCounts(ds, "label");
        var twoPass = ContentStats.PerGroup(ds, ds.EnumerateGroups(), "label", "text", global).ToList();
        Assert.Equal(twoPass, onePass);
        Assert.Equal(global, seen);
        Assert.Equal(300, onePass.Count);
        Assert.All(onePass, r => Assert.Equal(r.Records * 4, r.Words)); // "word {i} and more"
        Assert.Empty(Directory.GetFiles(Path.GetTempPath(), $"grouper-stats-{Environment.ProcessId}-*"));
    }

    private static GroupedDataset BuildLabels(TempDir t, string name, params (string User, string? Label)[] records)
    {
        using (var b = new GroupedDatasetBuilder(t[name], new BuildOptions { Key = KeySpec.FromColumns("user") }))
        {
            using (var r = new TestRecords("in", [Col("user", ValueKind.String), Col("label", ValueKind.String, nullable: true)],
                       records.Select(x => new object?[] { x.User, x.Label }).ToList()))
                b.AddAll(r);
            b.Complete();
        }
        return GroupedDataset.Open(t[name]);
    }

    [Fact]
    public void Records_without_a_label_are_left_out_of_the_label_measures_and_counted()
    {
        using var t = new TempDir();
        (string, string?)[] labelled = [("g1", "1"), ("g1", "3"), ("g2", "3"), ("g2", "3"), ("g3", "1")];
        using var without = BuildLabels(t, "without", labelled);
        using var withMissing = BuildLabels(t, "with", [.. labelled, ("g1", null), ("g2", ""), ("g3", "  "), ("g4", null)]);
        var expected = ContentStats.PerGroup(without, without.EnumerateGroups(), "label", null).ToList();
        IReadOnlyDictionary<string, long>? global = null;
        var rows = ContentStats.PerGroup(withMissing, withMissing.EnumerateGroups(), "label", null, null, default, g => global = g).ToList();
        Assert.Equal(["1", "3"], global!.Keys);
        Assert.Equal(ContentStats.GlobalLabelCounts(without, "label"), ContentStats.GlobalLabelCounts(withMissing, "label"));
        // The labels stay numbers, 2 apart: g1 is (1/2, 1/2) against (2/5, 3/5), so 0.1 of the mass moves 2.
        Assert.Equal(0.2, rows[0].EarthMovers!.Value, 12);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(expected[i] with { Records = rows[i].Records, Bytes = rows[i].Bytes, MissingLabels = 1 }, rows[i]);
            Assert.Equal(0, expected[i].MissingLabels);
        }
        // A group of no labelled record has no distribution to measure.
        Assert.Equal(new GroupContentRow("g4", 1, rows[3].Bytes, DistinctLabels: 0, MissingLabels: 1), rows[3]);
        var summary = ContentStats.Summarize(rows, global.Count);
        Assert.Equal(4, summary.MissingLabels);
        var expectedSummary = ContentStats.Summarize(expected, 2);
        Assert.Equal((expectedSummary.Entropy, expectedSummary.JensenShannon, expectedSummary.Hellinger, expectedSummary.EarthMovers),
            (summary.Entropy, summary.JensenShannon, summary.Hellinger, summary.EarthMovers));
        Assert.Equal(4.0 / 4, summary.DistinctLabels!.Mean, 12); // g1 2, g2 1, g3 1 and g4 0
        GroupReport.Write(withMissing, t["r.html"], new ReportOptions { LabelColumn = "label" });
        Assert.Contains("2 labels in all. 4 records without a label (null or blank) are left out.", File.ReadAllText(t["r.html"]));
        // Read twice (the global counts first) as read once.
        Assert.Equal(rows, ContentStats.PerGroup(withMissing, withMissing.EnumerateGroups(), "label", null, ContentStats.GlobalLabelCounts(withMissing, "label")));
    }

    [Theory]
    [InlineData("NaN")]
    [InlineData("Infinity")]
    [InlineData("1e400")]
    public void Only_finite_numbers_make_labels_numeric(string odd)
    {
        using var t = new TempDir();
        // By rank in ordinal order the global mix is (1/2, 1/4, 1/4) and each group moves 1/2 + 1/4 of it one step.
        using var ds = BuildLabels(t, "ds", ("g1", "1"), ("g1", "1"), ("g2", "2"), ("g2", odd));
        var rows = ContentStats.PerGroup(ds, ds.EnumerateGroups(), "label", null).ToList();
        Assert.All(rows, r => Assert.Equal(0.75, r.EarthMovers!.Value, 12));
    }

    [Fact]
    public void The_report_renders_in_headless_Chromium()
    {
        var chromium = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome" }.FirstOrDefault(File.Exists);
        if (chromium is null)
        {
            // CI installs Chromium (.ci/run); elsewhere the check needs it too.
            Assert.Fail("Chromium is not installed: apt-get install chromium");
        }
        using var t = new TempDir();
        using var ds = GroupedDataset.Open(BuildLabelled(t));
        GroupReport.Write(ds, t["report.html"], new ReportOptions { LabelColumn = "label" });
        string Run(params string[] extra)
        {
            var psi = new ProcessStartInfo(chromium) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", $"--user-data-dir={t["profile"]}" }.Concat(extra)) psi.ArgumentList.Add(a);
            psi.ArgumentList.Add(new Uri(t["report.html"]).AbsoluteUri);
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            p.StandardError.ReadToEndAsync();
            Assert.True(p.WaitForExit(90_000), "Chromium did not finish");
            return stdout.Result;
        }
        var dom = Run("--dump-dom", "--virtual-time-budget=2000");
        var m = System.Text.RegularExpressions.Regex.Match(dom, "data-charts=\"([^\"]*)\"");
        Assert.True(m.Success, "the report's script did not run");
        var charts = JsonSerializer.Deserialize<List<Chart>>(System.Net.WebUtility.HtmlDecode(m.Groups[1].Value), new JsonSerializerOptions { PropertyNameCaseInsensitive = true })!;
        Assert.Equal(["size-histogram", "size-cdf", "label-heatmap"], charts.Select(c => c.Id));
        Assert.All(charts, c => Assert.True(c.Width > 100 && c.Height > 100 && c.Marks > 0, $"{c.Id}: {c.Width}x{c.Height}, {c.Marks} marks"));

        var shot = Path.Combine(AppContext.BaseDirectory, "report-screenshot.png");
        File.Delete(shot);
        Run($"--screenshot={shot}", "--window-size=1200,2600", "--hide-scrollbars");
        Assert.True(new FileInfo(shot).Length > 10_000, "the screenshot is empty");
        output.WriteLine($"screenshot: {shot}");
    }

    private sealed record Chart(string Id, int Width, int Height, int Marks);
}
