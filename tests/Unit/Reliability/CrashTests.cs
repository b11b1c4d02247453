using System.Diagnostics;
using Grouper.Format;
using Grouper.Keys;
using Grouper.Writer;
using Xunit;
using Xunit.Abstractions;

namespace Grouper.Tests.Reliability;

/// <summary>
/// Builds in a child process, SIGKILLed at fault points in every phase: the destination is then absent or
/// a complete dataset that verifies, an earlier dataset survives an interrupted -Force replacement, and
/// the next build cleans up (and reports) what the dead one left.
/// </summary>
[Collection(nameof(Partitioning.MemoryCollection))] // child processes and timing: not beside other tests
public class CrashTests(ITestOutputHelper output)
{
    private static readonly string Host = Path.Combine(AppContext.BaseDirectory.Replace(
        Path.Combine("tests", "Unit", "bin"), Path.Combine("tests", "CrashHost", "bin")), "CrashHost.dll");

    private static void WriteInput(string path)
    {
        using var w = new StreamWriter(path);
        w.WriteLine("user,seq,text");
        for (int i = 0; i < 60_000; i++) w.WriteLine($"u{i * 7 % 3000},{i},{new string('x', 80)}");
    }

    private static (Process Proc, Task<string> Out) Start(string input, string dest, bool overwrite, string? fault, int? cores = null, string? spill = null,
        bool halves = false, bool durable = false)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        psi.ArgumentList.Add(Host); psi.ArgumentList.Add(input); psi.ArgumentList.Add(dest); psi.ArgumentList.Add(overwrite ? "1" : "0");
        if (spill is not null) psi.ArgumentList.Add(spill);
        if (fault is not null) psi.Environment["GROUPER_FAULT"] = fault;
        if (cores is not null) psi.Environment["DOTNET_PROCESSOR_COUNT"] = cores.Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (halves) psi.Environment["CRASHHOST_HALVES"] = "1";
        if (durable) psi.Environment["CRASHHOST_DURABLE"] = "1";
        var p = Process.Start(psi)!;
        return (p, p.StandardOutput.ReadToEndAsync());
    }

    /// <summary>Runs until the fault point is reached, then SIGKILLs; false if the build ended first.</summary>
    private static bool KillAt(string input, string dest, bool overwrite, string fault, string? spill = null, bool halves = false, bool durable = false)
    {
        var (p, _) = Start(input, dest, overwrite, fault + ":hang", spill: spill, halves: halves, durable: durable);
        using (p)
        {
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (DateTime.UtcNow < deadline)
            {
                var line = p.StandardError.ReadLine();
                if (line is null) break;
                if (line.StartsWith("GROUPER-FAULT", StringComparison.Ordinal))
                {
                    p.Kill(); // SIGKILL: no finally blocks, no Dispose
                    p.WaitForExit();
                    return true;
                }
            }
            p.WaitForExit();
            return false;
        }
    }

    private static void AssertCompleteOrAbsent(string dest)
    {
        if (!Directory.Exists(dest)) return;
        var problems = DatasetVerifier.Verify(dest).ToList();
        Assert.True(problems.Count == 0, $"{dest}: " + string.Join("; ", problems.Select(p => p.Message)));
    }

    [Fact]
    public async Task The_bytes_written_do_not_depend_on_the_number_of_cores()
    {
        // Row groups are encoded as many at once as there are cores; where they end must not depend on it.
        Assert.True(File.Exists(Host), $"the crash host is not built: {Host}");
        using var t = new TempDir();
        var input = t["in.csv"];
        using (var w = new StreamWriter(input))
        {
            // Rows wide enough that a row group ends on its byte budget (a few hundred KB here) before its row count.
            w.WriteLine("user,seq,text");
            for (int i = 0; i < 20_000; i++) w.WriteLine($"u{i * 7 % 1000},{i},{new string((char)('a' + i % 26), 300 + i % 50)}");
        }
        foreach (int cores in new[] { 1, 2, 8 })
        {
            var (p, stdout) = Start(input, t[$"ds{cores}"], overwrite: false, fault: null, cores);
            using (p)
            {
                var err = p.StandardError.ReadToEnd();
                p.WaitForExit();
                Assert.True(p.ExitCode == 0, $"{cores} cores: {err}");
            }
            Assert.StartsWith("DONE", await stdout);
        }
        var files = Directory.GetFiles(t["ds1"], "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(t["ds1"], f)).Order(StringComparer.Ordinal).ToList();
        Assert.True(files.Count(f => f.EndsWith(".parquet", StringComparison.Ordinal)) > 1);
        foreach (int cores in new[] { 2, 8 })
        {
            Assert.Equal(files, Directory.GetFiles(t[$"ds{cores}"], "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(t[$"ds{cores}"], f)).Order(StringComparer.Ordinal));
            foreach (var f in files.Where(f => !f.EndsWith("manifest.json", StringComparison.Ordinal)))
                Assert.True(File.ReadAllBytes(Path.Combine(t["ds1"], f)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(t[$"ds{cores}"], f))), $"{f} differs with {cores} cores");
        }
    }

    [Fact]
    public void Killed_builds_leave_nothing_that_looks_complete_but_is_not()
    {
        Assert.True(File.Exists(Host), $"the crash host is not built: {Host}");
        using var t = new TempDir();
        var input = t["in.csv"];
        WriteInput(input);
        // "sync": writing the dataset through to the disk, which a replacement always does and a new dataset
        // when durable (as it is here, for that point).
        string[] points = ["read@20000", "spill@5", "merge", "shard@3", "index", "manifest", "commit", "sync", "commit-replace", "commit-aside"];
        int tried = 0;
        foreach (var point in points)
        {
            foreach (bool replace in new[] { false, true })
            {
                var dest = t[$"ds-{point.Replace('@', '-')}-{replace}"];
                byte[]? before = null;
                if (replace)
                {
                    // An earlier, different dataset at the destination.
                    using (var b = new GroupedDatasetBuilder(dest, new BuildOptions { Key = KeySpec.FromColumns("seq"), MemoryLimit = 16 << 20 }))
                    {
                        using var r = Grouper.Sources.SourceFiles.Open(input);
                        b.AddAll(r);
                        b.Complete();
                    }
                    before = File.ReadAllBytes(Path.Combine(dest, DatasetManifest.FileName));
                }
                if (point.StartsWith("commit-") && !replace) continue; // replacement-only points
                Assert.True(KillAt(input, dest, replace, point, durable: point == "sync"), $"the build never reached {point}");
                tried++;

                // Right after the kill: absent, complete, or (replacement) the old dataset set aside.
                AssertCompleteOrAbsent(dest);

                // The next writer recovers: restores a dataset set aside, deletes dead work folders, says so.
                using (var next = new GroupedDatasetBuilder(dest, new BuildOptions { Key = KeySpec.FromColumns("user"), Overwrite = true, MemoryLimit = 16 << 20 }))
                {
                    Assert.NotEmpty(next.Recovered);
                }
                Assert.Empty(Directory.GetDirectories(t.Path, $".{Path.GetFileName(dest)}.grouper-*"));
                AssertCompleteOrAbsent(dest);
                if (replace)
                {
                    Assert.True(Directory.Exists(dest), $"{point}: the earlier dataset is gone");
                    var now = File.ReadAllBytes(Path.Combine(dest, DatasetManifest.FileName));
                    // Either the old dataset, untouched, or the new one complete (killed after the switch).
                    if (!now.AsSpan().SequenceEqual(before))
                        Assert.Equal("columns: user", DatasetManifest.Parse(now, dest).Key.Description);
                    else
                        Assert.Equal("columns: seq", DatasetManifest.Parse(now, dest).Key.Description);
                }
            }
        }
        output.WriteLine($"kill points tried: {tried}");
        // CI prints this file after the run (.ci/run).
        File.WriteAllText(Path.Combine(AppContext.BaseDirectory, "kill-points.txt"), $"kill points tried: {tried} ({string.Join(", ", points)}; fresh and replacing)\n");
        Assert.Equal(points.Length * 2 - 2, tried);
    }

    [Fact]
    public void A_killed_build_s_spill_folder_elsewhere_is_deleted_by_the_next_writer_and_nothing_else_there_is()
    {
        using var t = new TempDir();
        var input = t["in.csv"];
        WriteInput(input);
        var spill = t["spill [elsewhere]"];
        Directory.CreateDirectory(spill);
        Directory.CreateDirectory(Path.Combine(spill, "someone else's"));
        Assert.True(KillAt(input, t["ds"], false, "spill@3", spill));
        var left = Assert.Single(Directory.GetDirectories(spill, ".ds.grouper-tmp-*"));
        Assert.NotEmpty(Directory.GetFiles(left, "run-*"));

        // A planted location naming another folder is not followed.
        var decoy = Directory.CreateDirectory(t[".ds.grouper-tmp-decoy"]).FullName;
        File.WriteAllText(Path.Combine(decoy, DatasetCommit.SpillLocationFile), Path.Combine(spill, "someone else's"));

        using (var next = new GroupedDatasetBuilder(t["ds"], new BuildOptions { Key = KeySpec.FromColumns("user"), SpillDirectory = spill }))
        {
            Assert.Contains(next.Recovered, r => r.Contains("spill folder") && r.Contains(left));
            Assert.False(Directory.Exists(left));
            using var r = Grouper.Sources.SourceFiles.Open(input);
            next.AddAll(r);
            next.Complete();
        }
        Assert.Equal([Path.Combine(spill, "someone else's")], Directory.GetDirectories(spill));
        Assert.False(Directory.Exists(decoy));
        Assert.False(File.Exists(Path.Combine(t["ds"], DatasetCommit.SpillLocationFile)));
        AssertCompleteOrAbsent(t["ds"]);
    }

    [Fact]
    public void The_next_writer_deletes_its_own_destination_s_leftovers_only_whatever_characters_its_name_holds()
    {
        if (OperatingSystem.IsWindows()) return; // '?' and '*' are not file name characters there
        using var t = new TempDir();
        var input = t["in.csv"];
        WriteInput(input);
        // Another destination's build in progress, whose work folder a wildcard in this destination's name would match,
        // and this destination's own leftovers.
        var others = new[] { Directory.CreateDirectory(t[".dx.grouper-tmp-live"]).FullName, Directory.CreateDirectory(t[".dxy.grouper-old-live"]).FullName };
        File.WriteAllText(Path.Combine(others[1], DatasetManifest.FileName), "{}");
        var dest = t["d?"];
        var dead = Directory.CreateDirectory(t[".d?.grouper-tmp-dead"]).FullName;
        var aside = Directory.CreateDirectory(t[".d?.grouper-old-1"]).FullName;
        using (var next = new GroupedDatasetBuilder(dest, new BuildOptions { Key = KeySpec.FromColumns("user") }))
        {
            Assert.Equal(2, next.Recovered.Count);
            Assert.Contains(next.Recovered, r => r.Contains(dead));
            Assert.Contains(next.Recovered, r => r.Contains(aside));
        }
        Assert.False(Directory.Exists(dead));
        Assert.False(Directory.Exists(aside));
        foreach (var other in others) Assert.True(Directory.Exists(other), $"{other} was deleted");
        // The same with a star.
        var star = Directory.CreateDirectory(t[".d*.grouper-tmp-dead"]).FullName;
        using (var next = new GroupedDatasetBuilder(t["d*"], new BuildOptions { Key = KeySpec.FromColumns("user") }))
            Assert.Contains(next.Recovered, r => r.Contains(star));
        foreach (var other in others) Assert.True(Directory.Exists(other), $"{other} was deleted");
    }

    [Fact]
    public void A_second_writer_fails_at_once_and_a_dead_writer_does_not_block()
    {
        using var t = new TempDir();
        var input = t["in.csv"];
        WriteInput(input);
        using (var first = new GroupedDatasetBuilder(t["ds"], new BuildOptions { Key = KeySpec.FromColumns("user") }))
        {
            var ex = Assert.Throws<GrouperException>(() => new GroupedDatasetBuilder(t["ds"], new BuildOptions { Key = KeySpec.FromColumns("user") }));
            Assert.Equal(GrouperErrorKind.ResourceBusy, ex.Kind);
            Assert.Contains("Another Grouper process is writing", ex.Message);
        }
        // A writer killed while holding the lock: the next one gets it.
        Assert.True(KillAt(input, t["ds2"], false, "spill"));
        using var after = new GroupedDatasetBuilder(t["ds2"], new BuildOptions { Key = KeySpec.FromColumns("user") });
        Assert.Contains(after.Recovered, r => r.Contains("interrupted build"));
    }

    [Fact]
    public async Task Two_processes_build_the_same_bytes_from_the_same_input()
    {
        // What a comparison in one process cannot see: string hashes are seeded per process (a hashtable's
        // order once decided a dataset's columns), and threads interleave differently from run to run.
        Assert.True(File.Exists(Host), $"the crash host is not built: {Host}");
        using var t = new TempDir();
        var csv = t["in.csv"];
        WriteInput(csv);
        var jsonl = t["in.jsonl"];
        using (var w = new StreamWriter(jsonl))
            for (int i = 0; i < 20_000; i++)
                w.WriteLine($"{{\"user\":\"u{i * 7 % 900}\",\"n\":{(i < 3 ? "null" : i.ToString(System.Globalization.CultureInfo.InvariantCulture))},\"x\":{i / 8.0:R}," +
                            $"\"tags\":{{\"b\":{i % 5},\"a\":[\"t{i % 3}\",null]}},\"s\":\"{new string('é', i % 40)}\"}}");
        foreach (var (input, halves) in new[] { (csv, false), (csv, true), (jsonl, false) })
        {
            var dirs = new[] { t[$"a-{Path.GetFileName(input)}-{halves}"], t[$"b-{Path.GetFileName(input)}-{halves}"] };
            foreach (var dir in dirs)
            {
                var (p, stdout) = Start(input, dir, false, fault: null, halves: halves);
                await p.WaitForExitAsync();
                Assert.StartsWith("DONE", await stdout);
            }
            TempDir.AssertSameFiles(dirs[0], dirs[1]);
        }
    }

    [Fact]
    public async Task A_build_in_halves_killed_or_out_of_disk_while_both_write_leaves_its_destination_absent_or_complete()
    {
        Assert.True(File.Exists(Host), $"the crash host is not built: {Host}");
        using var t = new TempDir();
        var input = t["in.csv"];
        WriteInput(input);
        var (whole, stdout) = Start(input, t["ok"], false, fault: null, halves: true);
        await whole.WaitForExitAsync();
        Assert.Contains("DONE 60000 HALVES", await stdout);
        Assert.Empty(DatasetVerifier.Verify(t["ok"]));

        // Killed: as the halves start, as each appends row groups (shards are appended by both threads, the
        // count is the process's), as the first half's index is written.
        foreach (var point in new[] { "merge", "shard", "shard@6", "index" })
        {
            var dest = t[$"ds-{point.Replace('@', '-')}"];
            Assert.True(KillAt(input, dest, false, point, halves: true), $"the build never reached {point}");
            AssertCompleteOrAbsent(dest);
            using (var next = new GroupedDatasetBuilder(dest, new BuildOptions { Key = KeySpec.FromColumns("user"), Overwrite = true, MemoryLimit = 16 << 20 }))
                Assert.NotEmpty(next.Recovered);
            Assert.Empty(Directory.GetDirectories(t.Path, $".{Path.GetFileName(dest)}.grouper-*"));
        }

        // A full disk on either thread: a clear error, the other half stopped, nothing left.
        foreach (var point in new[] { "shard", "shard@5" })
        {
            var (p, _) = Start(input, t["full"], false, point + ":enospc", halves: true);
            var stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.NotEqual(0, p.ExitCode);
            Assert.Contains("No space left on device", stderr);
            Assert.Contains("Nothing was committed", stderr);
            Assert.False(Directory.Exists(t["full"]));
            Assert.Empty(Directory.GetDirectories(t.Path, ".full.*"));
        }
    }

    [Fact]
    public async Task A_dataset_that_cannot_be_written_through_to_the_disk_is_not_committed_and_the_old_one_stays()
    {
        // The write-through before a commit is the step a replacement depends on: the old dataset is deleted
        // only after it. Failing there (a full disk or a dying device says so at fsync) must change nothing.
        using var t = new TempDir();
        var input = t["in.csv"];
        WriteInput(input);
        using (var b = new GroupedDatasetBuilder(t["old"], new BuildOptions { Key = KeySpec.FromColumns("seq"), MemoryLimit = 16 << 20 }))
        {
            using var r = Grouper.Sources.SourceFiles.Open(input);
            b.AddAll(r);
            b.Complete();
        }
        var before = File.ReadAllBytes(Path.Combine(t["old"], DatasetManifest.FileName));
        foreach (var (dest, replace, durable) in new[] { (t["old"], true, false), (t["new"], false, true) })
        {
            var (p, _) = Start(input, dest, replace, "sync:enospc", durable: durable);
            var stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.NotEqual(0, p.ExitCode);
            Assert.Contains("No space left on device", stderr);
            Assert.Contains("Nothing was committed", stderr);
            Assert.Empty(Directory.GetDirectories(t.Path, ".*"));
        }
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(t["old"], DatasetManifest.FileName)));
        Assert.Empty(DatasetVerifier.Verify(t["old"]));
        Assert.False(Directory.Exists(t["new"]));

        // Without the fault, a durable build and a replacement commit as any build does.
        foreach (var (dest, replace) in new[] { (t["new"], false), (t["old"], true) })
        {
            var (p, stdout) = Start(input, dest, replace, fault: null, durable: !replace);
            var stderr = await p.StandardError.ReadToEndAsync();
            await p.WaitForExitAsync();
            Assert.True(p.ExitCode == 0, stderr);
            Assert.StartsWith("DONE 60000", await stdout);
            Assert.Empty(DatasetVerifier.Verify(dest));
        }
        Assert.Equal("columns: user", DatasetManifest.Parse(File.ReadAllBytes(Path.Combine(t["old"], DatasetManifest.FileName)), t["old"]).Key.Description);
    }

    [Fact]
    public async Task A_merge_that_cannot_write_is_a_write_error_and_leaves_nothing()
    {
        // As a build says it (WriteFailed, "Nothing was committed"), not an IOException of its own.
        using var t = new TempDir();
        var input = t["in.csv"];
        WriteInput(input);
        var parts = new List<string>();
        for (int i = 0; i < 2; i++)
        {
            using var b = new GroupedDatasetBuilder(t[$"p{i}"], new BuildOptions { Key = KeySpec.FromColumns("user"), Worker = new WorkerShare(i, 2), MemoryLimit = 16 << 20 });
            using (var r = Grouper.Sources.SourceFiles.Open(input)) b.AddAll(r);
            b.Complete();
            parts.Add(t[$"p{i}"]);
        }
        foreach (var fault in new[] { "sync:enospc", "commit:enospc" })
        {
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in new[] { Host, "merge", t["merged"], parts[0], parts[1] }) psi.ArgumentList.Add(a);
            psi.Environment["GROUPER_FAULT"] = fault;
            psi.Environment["CRASHHOST_DURABLE"] = "1";
            using var p = Process.Start(psi)!;
            var stderr = await p.StandardError.ReadToEndAsync();
            await p.WaitForExitAsync();
            Assert.Equal(1, p.ExitCode);
            Assert.Contains("WriteFailed: Writing the merged dataset", stderr);
            Assert.Contains("No space left on device", stderr);
            Assert.Contains("Nothing was committed", stderr);
            Assert.False(Directory.Exists(t["merged"]));
            Assert.Empty(Directory.GetDirectories(t.Path, ".merged.*"));
        }
    }

    [Fact]
    public void A_full_disk_is_a_clear_error_and_leaves_nothing()
    {
        using var t = new TempDir();
        var input = t["in.csv"];
        WriteInput(input);
        foreach (var point in new[] { "spill", "shard", "index" })
        {
            var (p, stdout) = Start(input, t["ds"], false, point + ":enospc");
            var stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.NotEqual(0, p.ExitCode);
            Assert.Contains("No space left on device", stderr);
            Assert.Contains(point == "spill" ? "" : "Nothing was committed", stderr);
            Assert.False(Directory.Exists(t["ds"]));
            Assert.Empty(Directory.GetDirectories(t.Path, ".*"));
        }
        // An unwritable destination (its parent is a file): a clear error at once.
        File.WriteAllText(t["file"], "x");
        var ex = Assert.Throws<GrouperException>(() => new GroupedDatasetBuilder(t["file/ds"], new BuildOptions { Key = KeySpec.FromColumns("user") }));
        Assert.Equal(GrouperErrorKind.WriteFailed, ex.Kind);
        Assert.Contains("file/ds", ex.Message);
    }
}
