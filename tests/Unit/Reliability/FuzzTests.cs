using System.Text;
using Grouper.Fuzz;
using Grouper.Keys;
using Grouper.Schema;
using Grouper.Writer;
using Xunit;
using Xunit.Abstractions;
using static Grouper.Tests.TestRecords;

namespace Grouper.Tests.Reliability;

/// <summary>Bounded fuzzing in CI: seeded mutations of valid inputs through every reader; only GrouperException may come out.</summary>
public class FuzzTests(ITestOutputHelper output)
{
    // GROUPER_FUZZ_CASES runs more cases locally (fuzz/README.md).
    private static readonly int CasesPerTarget =
        int.TryParse(Environment.GetEnvironmentVariable("GROUPER_FUZZ_CASES"), out int n) && n > 0 ? n : 400;
    private static readonly byte[] Special = "\"\n\r,{}[]:\\\0"u8.ToArray().Append((byte)0xFF).ToArray();

    private static Dictionary<string, byte[]> Seeds()
    {
        using var t = new TempDir();
        // Row groups of 100 rows: a Parquet source reads the next row group ahead on another thread, and a
        // damaged one must fail there as it would read in turn.
        using (var b = new GroupedDatasetBuilder(t["ds"], new BuildOptions { Key = KeySpec.FromColumns("k"), RowGroupMaxRows = 100 }))
        {
            var rows = Enumerable.Range(0, 500).Select(i => new object?[] { $"k{i % 37}", (long)i, i * 0.5, $"t{i}" }).ToList();
            using (var r = new TestRecords("in", [Col("k", ValueKind.String), Col("n", ValueKind.Int64), Col("x", ValueKind.Double), Col("s", ValueKind.String)], rows)) b.AddAll(r);
            b.Complete();
        }
        return new()
        {
            ["csv"] = Encoding.UTF8.GetBytes("k,v,w\r\na,\"x, \"\"y\"\"\",1\nb,\"multi\nline\",2\n"),
            ["tsv"] = Encoding.UTF8.GetBytes("k\tv\na\t1\nb\t2\n"),
            ["jsonl"] = Encoding.UTF8.GetBytes("{\"k\":\"a\",\"n\":1,\"x\":1.5,\"o\":{\"y\":[1,2]},\"b\":true,\"z\":null}\n{\"k\":\"b\",\"n\":2}\n"),
            ["parquet"] = File.ReadAllBytes(t["ds/data/shard-00000.parquet"]),
            ["nested"] = NestedSeed(t["nested.parquet"]),
            ["encodings"] = EncodingsSeed(t["encodings.parquet"]),
            ["index"] = File.ReadAllBytes(t["ds/index.gidx"]),
            ["manifest"] = File.ReadAllBytes(t["ds/manifest.json"]),
        };
    }

    /// <summary>
    /// A small Parquet file of nested columns (lists, lists of lists, a struct, a map; nulls and empty lists; leaves
    /// of integers of several widths, text, doubles, booleans, dates and timestamps, which Grouper reads itself), two row groups, uncompressed
    /// so that mutations reach the levels and values.
    /// </summary>
    private static byte[] NestedSeed(string path)
    {
        using (var db = new DuckDB.NET.Data.DuckDBConnection("Data Source=:memory:"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = $$"""
                COPY (SELECT i AS id, CASE WHEN i % 4 = 0 THEN NULL WHEN i % 4 = 1 THEN [] ELSE [i, NULL] END AS l,
                             [[i], NULL, []] AS ll, {'a': i, 'b': [CAST(i AS VARCHAR)]} AS s, MAP {'k': i} AS m,
                             [i * 0.5, NULL] AS x, {'d': DATE '2024-01-01' + i::INTEGER, 't': TIMESTAMP '2024-01-01' + INTERVAL (i) SECOND} AS w,
                             [i % 3 = 0, NULL, true] AS f, [(i % 100 - 50)::TINYINT, NULL] AS t8, [i::UBIGINT, NULL] AS u64
                      FROM range(40) r(i)) TO '{{path}}' (FORMAT parquet, ROW_GROUP_SIZE 20, COMPRESSION uncompressed)
                """;
            cmd.ExecuteNonQuery();
        }
        return File.ReadAllBytes(path);
    }

    /// <summary>
    /// A small Parquet file of Arrow's C++ writer with pages of version 2, uncompressed, of every encoding Grouper
    /// decodes itself: integers and a timestamp in DELTA_BINARY_PACKED, text in DELTA_LENGTH_BYTE_ARRAY and
    /// DELTA_BYTE_ARRAY, doubles in BYTE_STREAM_SPLIT, booleans in RLE; nulls; two row groups.
    /// </summary>
    private static byte[] EncodingsSeed(string path)
    {
        using (var props = new ParquetSharp.WriterPropertiesBuilder().Compression(ParquetSharp.Compression.Uncompressed)
                   .DataPageVersion(ParquetSharp.ParquetDataPageVersion.V2).DisableDictionary().DisableStatistics()
                   .Encoding("n", ParquetSharp.Encoding.DeltaBinaryPacked).Encoding("ts", ParquetSharp.Encoding.DeltaBinaryPacked)
                   .Encoding("s", ParquetSharp.Encoding.DeltaLengthByteArray).Encoding("p", ParquetSharp.Encoding.DeltaByteArray)
                   .Encoding("x", ParquetSharp.Encoding.ByteStreamSplit).Encoding("b", ParquetSharp.Encoding.Rle).Build())
        using (var w = new ParquetSharp.ParquetFileWriter(path,
            [new ParquetSharp.Column<string>("k"), new ParquetSharp.Column<long?>("n"), new ParquetSharp.Column<DateTime>("ts"), new ParquetSharp.Column<string>("s"),
             new ParquetSharp.Column<string>("p"), new ParquetSharp.Column<double?>("x"), new ParquetSharp.Column<bool?>("b")], props))
        {
            for (int start = 0; start < 80; start += 40)
            {
                var range = Enumerable.Range(start, 40);
                using var rg = w.AppendRowGroup();
                using (var c = rg.NextColumn().LogicalWriter<string>()) c.WriteBatch(range.Select(i => $"k{i % 3}").ToArray());
                using (var c = rg.NextColumn().LogicalWriter<long?>()) c.WriteBatch(range.Select(i => i % 5 == 0 ? null : (long?)(i * i * 1_000_003L - 7)).ToArray());
                using (var c = rg.NextColumn().LogicalWriter<DateTime>()) c.WriteBatch(range.Select(i => new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddSeconds(i * 37)).ToArray());
                using (var c = rg.NextColumn().LogicalWriter<string>()) c.WriteBatch(range.Select(i => i % 7 == 0 ? null! : new string('v', i % 9) + i).ToArray());
                using (var c = rg.NextColumn().LogicalWriter<string>()) c.WriteBatch(range.Select(i => $"prefix/{i / 10}/{i}").ToArray());
                using (var c = rg.NextColumn().LogicalWriter<double?>()) c.WriteBatch(range.Select(i => i % 6 == 0 ? null : (double?)(i * 0.25)).ToArray());
                using (var c = rg.NextColumn().LogicalWriter<bool?>()) c.WriteBatch(range.Select(i => i % 4 == 0 ? null : (bool?)(i % 3 == 0)).ToArray());
            }
            w.Close();
        }
        return File.ReadAllBytes(path);
    }

    private static byte[] Mutate(byte[] seed, Random rng)
    {
        var d = seed.ToList();
        int edits = 1 + rng.Next(4);
        for (int e = 0; e < edits && d.Count > 0; e++)
        {
            int at = rng.Next(d.Count);
            switch (rng.Next(6))
            {
                case 0: d[at] ^= (byte)(1 << rng.Next(8)); break;                        // bit flip
                case 1: d.RemoveRange(at, d.Count - at); break;                          // truncate
                case 2: d.Insert(at, (byte)rng.Next(256)); break;                        // insert a byte
                case 3: d.RemoveAt(at); break;                                           // delete a byte
                case 4: { int from = rng.Next(d.Count); d.InsertRange(at, d.GetRange(from, Math.Min(16, d.Count - from))); break; } // splice
                default: d[at] = Special[rng.Next(Special.Length)]; break;              // a byte parsers care about
            }
        }
        return d.ToArray();
    }

    [Fact]
    public async Task Every_reader_survives_mutated_input()
    {
        var seeds = Seeds();
        Assert.Equal(FuzzTargets.Names.Order(), seeds.Keys.Order());
        int cases = 0;
        // The cases run on their own thread and the test waits with a limit, so that an input a reader loops
        // on (Parquet.Net did, on two damaged footers) fails the test with that input instead of hanging it.
        string target = "", failure = "";
        int index = 0;
        byte[] input = [];
        var run = Task.Factory.StartNew(() =>
        {
            // GROUPER_FUZZ_TARGETS=nested,encodings runs those only (fuzz/README.md).
            var only = Environment.GetEnvironmentVariable("GROUPER_FUZZ_TARGETS")?.Split(',');
            foreach (var t in FuzzTargets.Names)
            {
                if (only is not null && !only.Contains(t)) continue;
                target = t;
                FuzzTargets.Run(t, seeds[t]); // the seed itself reads
                // The seed differs from run to run (string hashes are randomised per process): more inputs over time.
                var rng = new Random(t.GetHashCode(StringComparison.Ordinal) ^ 12345);
                for (index = 0; index < CasesPerTarget; index++)
                {
                    input = Mutate(seeds[t], rng);
                    try { FuzzTargets.Run(t, input); }
                    catch (Exception ex)
                    {
                        failure = $"{t} case {index} ({input.Length} bytes, base64 {Convert.ToBase64String(input.Take(2000).ToArray())}): {ex.GetType().Name}: {ex.Message}\n{ex.StackTrace}";
                        return;
                    }
                    cases++;
                }
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        if (await Task.WhenAny(run, Task.Delay(TimeSpan.FromMinutes(5))) != run)
            Assert.Fail($"{target} case {index} has been read for 5 minutes ({input.Length} bytes, base64 {Convert.ToBase64String(input.Take(20000).ToArray())})");
        await run;
        // The targets' scratch folder (one a process, reused by every case: a fuzzer's loop runs millions) goes with the run.
        try { Directory.Delete(Path.Combine(Path.GetTempPath(), "grouper-fuzz-" + Environment.ProcessId), recursive: true); }
        catch (IOException) { }
        Assert.True(failure.Length == 0, failure);
        output.WriteLine($"fuzz cases run: {cases}");
    }
}
