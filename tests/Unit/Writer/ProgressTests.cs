using System.IO.Compression;
using System.Text;
using DuckDB.NET.Data;
using Grouper.Keys;
using Grouper.Reading;
using Grouper.Sources;
using Grouper.Writer;
using Xunit;

namespace Grouper.Tests.Writer;

/// <summary>A build's progress while it reads: how much of its input, by bytes or records, as it goes.</summary>
public class ProgressTests
{
    private static string Csv(int rows, int seed)
    {
        var sb = new StringBuilder("k,v,text\n");
        var rng = new Random(seed);
        for (int i = 0; i < rows; i++) sb.Append('k').Append(rng.Next(300)).Append(',').Append(i).Append(',').Append('x', 20 + rng.Next(60)).Append('\n');
        return sb.ToString();
    }

    private static List<BuildProgress> Build(string destination, IReadOnlyList<string> files, bool expect)
    {
        var reports = new List<BuildProgress>();
        using var b = new GroupedDatasetBuilder(destination, new BuildOptions
        {
            Key = KeySpec.FromColumns("k"),
            Progress = new SyncProgress<BuildProgress>(reports.Add),
            ProgressInterval = TimeSpan.Zero,
        });
        if (expect) b.ExpectInput(files.Sum(f => new FileInfo(f).Length));
        foreach (var f in files)
            using (var r = SourceFiles.Open(f)) b.AddAll(r);
        b.Complete();
        return reports;
    }

    /// <summary>
    /// A build whose input is expected to come to no more than its budget stores its spill runs uncompressed;
    /// a larger input, or one whose size is not known, compresses them. The dataset is the same either way.
    /// </summary>
    [Theory]
    [InlineData(16, true, true)]   // ~9 MB of records, a 16 MB budget
    [InlineData(4, true, false)]   // the same records, a 4 MB budget
    [InlineData(16, false, false)] // how much input to expect not said (its one file's size is no measure of a build's input)
    public void Spill_runs_are_stored_uncompressed_only_when_the_input_is_expected_to_fit_the_budget(int budgetMb, bool expect, bool stored)
    {
        using var t = new TempDir();
        File.WriteAllText(t["a.csv"], Csv(120_000, 5));
        var options = new BuildOptions { Key = KeySpec.FromColumns("k"), MemoryLimit = budgetMb << 20, RowGroupMaxRows = 1000 };
        (int Stored, int All) runs;
        using (var b = new GroupedDatasetBuilder(t["ds"], options))
        {
            if (expect) b.ExpectInput(new FileInfo(t["a.csv"]).Length);
            using (var r = SourceFiles.Open(t["a.csv"])) b.AddAll(r);
            runs = b.SpillRunsStored;
            b.Complete();
        }
        Assert.True(runs.All >= 2, $"{runs.All} runs");
        Assert.Equal(stored ? runs.All : 0, runs.Stored);
        using var ds = GroupedDataset.Open(t["ds"]);
        Assert.Equal(120_000, ds.Manifest.RecordCount);
        var expected = File.ReadAllLines(t["a.csv"]).Skip(1).Select(l => l.Split(',')).Select((f, i) => (Key: f[0], Seq: i))
            .OrderBy(x => x.Key, StringComparer.Ordinal).ThenBy(x => x.Seq).Select(x => $"{x.Key}/{x.Seq}").ToList();
        var got = ds.EnumerateGroups().SelectMany(g => ds.ReadRecords(g).Select(r => $"{g.Key}/{r[1]}")).ToList();
        Assert.Equal(expected, got);
    }

    [Fact]
    public void The_time_a_phase_has_left_is_its_pace_so_far_once_the_pace_says_something()
    {
        static BuildProgress Writing(long written, double seconds) =>
            new(BuildPhase.Writing, 1000, 0, written, 1, 0, null) { PhaseElapsed = TimeSpan.FromSeconds(seconds) };
        Assert.Equal(30, Writing(250, 10).PhaseRemaining!.Value.TotalSeconds, 3);
        Assert.Equal(0.25, Writing(250, 10).PhaseFraction);
        Assert.Null(Writing(250, 0.5).PhaseRemaining);  // under a second of it
        Assert.Null(Writing(5, 10).PhaseRemaining);     // under a hundredth of its work
        Assert.Null(Writing(1000, 10).PhaseRemaining);  // done
        var reading = new BuildProgress(BuildPhase.Reading, 10, 400, 0, 0, 0, "a.csv") { InputBytes = 1000, PhaseElapsed = TimeSpan.FromSeconds(4) };
        Assert.Equal(6, reading.PhaseRemaining!.Value.TotalSeconds, 3);
        Assert.Null((reading with { InputBytes = 0 }).PhaseRemaining); // records from the pipeline: no fraction
        Assert.Null((reading with { Phase = BuildPhase.Merging }).PhaseRemaining);
    }

    [Fact]
    public void Reading_reports_how_far_into_its_files_a_build_is()
    {
        using var t = new TempDir();
        // Three formats, and a compressed file whose progress is its compressed bytes.
        File.WriteAllText(t["a.csv"], Csv(60_000, 1));
        using (var gz = new GZipStream(File.Create(t["b.csv.gz"]), CompressionLevel.Fastest))
            gz.Write(Encoding.UTF8.GetBytes(Csv(90_000, 2)));
        File.WriteAllText(t["c.jsonl"], string.Concat(Csv(50_000, 3).Split('\n').Skip(1).Where(l => l.Length > 0)
            .Select(l => l.Split(',')).Select(f => $"{{\"k\":\"{f[0]}\",\"v\":\"{f[1]}\",\"text\":\"{f[2]}\"}}\n")));
        using (var db = new DuckDBConnection("Data Source=:memory:"))
        {
            db.Open();
            using var c = db.CreateCommand();
            c.CommandText = $"COPY (SELECT 'k' || (i % 300) AS k, CAST(i AS VARCHAR) AS v, repeat('y', 40) AS text FROM range(70000) r(i)) TO '{t["d.parquet"]}' (FORMAT parquet, ROW_GROUP_SIZE 8192)";
            c.ExecuteNonQuery();
        }
        string[] files = [t["a.csv"], t["b.csv.gz"], t["c.jsonl"], t["d.parquet"]];
        long total = files.Sum(f => new FileInfo(f).Length);

        var reports = Build(t["ds"], files, expect: true);
        var reading = reports.Where(p => p.Phase == BuildPhase.Reading).ToList();
        Assert.All(reports, p => Assert.Equal(total, p.InputBytes));
        // Never backwards, never past the input, and read whole at the end of the reading.
        for (int i = 1; i < reading.Count; i++)
        {
            Assert.True(reading[i].BytesRead >= reading[i - 1].BytesRead, $"bytes read went back at report {i}");
            Assert.True(reading[i].ReadFraction >= reading[i - 1].ReadFraction, $"the fraction went back at report {i}");
        }
        Assert.All(reading, p => Assert.InRange(p.ReadFraction, 0.0, 1.0));
        Assert.All(reading, p => Assert.InRange(p.BytesRead, 0, total));
        Assert.Equal(total, reading[^1].BytesRead);
        Assert.Equal(1.0, reading[^1].ReadFraction);
        // Within each file, not only between them: reports part of the way into every one.
        foreach (var f in files)
        {
            long size = new FileInfo(f).Length;
            var within = reading.Where(p => p.CurrentSource == f).ToList();
            Assert.Contains(within, p => p.SourceBytes == size && p.SourceBytesRead > 0 && p.SourceBytesRead < size);
            Assert.All(within, p => Assert.InRange(p.SourceBytesRead, 0, size));
        }
        Assert.Equal(270_000, GroupedDataset.Open(t["ds"]).Manifest.RecordCount);
        // Each phase's clock runs on within it and starts again with the next (what the remaining time is from).
        for (int i = 1; i < reports.Count; i++)
            if (reports[i].Phase == reports[i - 1].Phase)
                Assert.True(reports[i].PhaseElapsed >= reports[i - 1].PhaseElapsed, $"the phase's time went back at report {i}");
        var firstWriting = reports.First(p => p.Phase == BuildPhase.Writing);
        Assert.True(firstWriting.PhaseElapsed < reading[^1].PhaseElapsed,
            $"writing began at {firstWriting.PhaseElapsed} of its own, after {reading[^1].PhaseElapsed} of reading");
    }

    [Fact]
    public void Without_an_expected_size_the_fraction_is_of_the_file_being_read()
    {
        using var t = new TempDir();
        File.WriteAllText(t["a.csv"], Csv(80_000, 4));
        var reading = Build(t["ds"], [t["a.csv"]], expect: false).Where(p => p.Phase == BuildPhase.Reading).ToList();
        Assert.All(reading, p => Assert.Equal(0, p.InputBytes));
        var within = reading.Where(p => p.CurrentSource is not null).ToList();
        Assert.Contains(within, p => p.ReadFraction > 0 && p.ReadFraction < 1);
        Assert.All(within, p => Assert.Equal((double)p.SourceBytesRead / p.SourceBytes, p.ReadFraction));
    }

    [Fact]
    public void Records_pushed_by_a_caller_have_no_fraction_unless_the_caller_says_how_many()
    {
        using var t = new TempDir();
        foreach (var expected in new long[] { 0, 40_000 })
        {
            var reports = new List<BuildProgress>();
            var dest = t[$"ds{expected}"];
            using (var b = new GroupedDatasetBuilder(dest, new BuildOptions
            {
                Key = KeySpec.FromColumns("k"),
                Progress = new SyncProgress<BuildProgress>(reports.Add),
                ProgressInterval = TimeSpan.Zero,
            }))
            {
                b.ExpectInput(0, expected);
                var reader = new ObjectRecordReader("pipeline");
                for (int i = 0; i < 40_000; i++)
                {
                    reader.SetCurrent([new("k", $"g{i % 50}"), new("v", (long)i)], i + 1);
                    b.Add(reader);
                }
                b.Complete();
            }
            var reading = reports.Where(p => p.Phase == BuildPhase.Reading).ToList();
            Assert.NotEmpty(reading);
            if (expected == 0) Assert.All(reading, p => Assert.Equal(-1, p.ReadFraction));
            else
            {
                Assert.All(reading, p => Assert.Equal((double)p.RecordsRead / expected, p.ReadFraction));
                Assert.Contains(reading, p => p.ReadFraction > 0 && p.ReadFraction < 1);
            }
        }
    }
}
