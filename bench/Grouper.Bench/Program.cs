using System.Diagnostics;
using System.Globalization;
using System.Text;
using DuckDB.NET.Data;
using Grouper.Keys;
using Grouper.Sources;
using Grouper.Writer;

// Grouper's reference benchmark: one subcommand per process, so each tool's peak RSS is its own.
//   gen     --mb N --out file.csv [--seed S] [--budget-mb B]   synthetic skewed CSV with one group larger than B
//   grouper --in file.csv --out dir [--budget-mb B]            Grouper build
//   duckdb  --in file.csv --out file.parquet [--budget-mb B] [--threads T]
//   sql     --q "SELECT …"                                   any DuckDB query, rows tab-separated (parquet_metadata of shards)
// Each prints one line: RESULT tool=... wall_s=... rss_peak_mb=... records=...
var cmd = args.Length > 0 ? args[0] : "";
var opt = new Dictionary<string, string>();
for (int i = 1; i + 1 < args.Length; i += 2) opt[args[i].TrimStart('-')] = args[i + 1];
string Opt(string name, string? fallback = null) => opt.TryGetValue(name, out var v) ? v : fallback ?? throw new ArgumentException($"--{name} is required");
long budget = long.Parse(Opt("budget-mb", "256"), CultureInfo.InvariantCulture) << 20;

var sw = Stopwatch.StartNew();
using var allocs = Environment.GetEnvironmentVariable("GROUPER_BENCH_ALLOC") == "1" ? new AllocListener() : null;
AllocListener.Instance = allocs;
using var jitlog = Environment.GetEnvironmentVariable("GROUPER_BENCH_JIT") == "1" ? new JitListener(sw) : null;
switch (cmd)
{
    case "gen":
    {
        // Always CSV first; JSON Lines and Parquet are converted from it by DuckDB, so all formats hold the same records.
        var output = Opt("out");
        var format = Opt("format", "csv");
        var csv = format == "csv" ? output : output + ".src.csv";
        var records = Generate(csv, long.Parse(Opt("mb"), CultureInfo.InvariantCulture) << 20, int.Parse(Opt("seed", "42"), CultureInfo.InvariantCulture), budget, Opt("groups", "skewed") == "tiny");
        if (format != "csv")
        {
            using var db = new DuckDBConnection("Data Source=:memory:");
            db.Open();
            using var c = db.CreateCommand();
            // typed.parquet: the columns typed as DuckDB detects them (a timestamp with time zone, a double), as a
            // Parquet file usually comes; zstd.parquet the same, Zstd-compressed (Polars' default); parquet and
            // jsonl: text, as Grouper keeps a CSV's values; int96.parquet the typed file with its timestamps as
            // INT96, as Spark writes them by default (spark.sql.parquet.outputTimestampType), by Arrow's writer;
            // nested.parquet the typed file with a list column of two strings (label, user_id) beside; maps.parquet
            // the typed file with a map (label to value) and a list of two structs beside, as Spark's event data has.
            bool typed = format is "typed.parquet" or "zstd.parquet" or "int96.parquet" or "nested.parquet" or "maps.parquet";
            var parquet = format == "int96.parquet" ? output + ".typed.parquet" : output;
            var extra = format switch
            {
                "nested.parquet" => ", [label, user_id] AS tags",
                "maps.parquet" => ", MAP {'k_' || label: value} AS m, [{'a': user_id, 'b': value}, {'a': label, 'b': NULL}] AS ls",
                _ => "",
            };
            c.CommandText = $"SET threads=2; COPY (SELECT *{extra} FROM read_csv('{csv}', header=true, all_varchar={(typed ? "false" : "true")})) TO '{parquet}' " +
                (format == "jsonl" ? "(FORMAT json)" : $"(FORMAT parquet, COMPRESSION {(format == "zstd.parquet" ? "zstd" : "snappy")})");
            c.ExecuteNonQuery();
            File.Delete(csv);
            if (parquet != output)
            {
                WithInt96Timestamps(parquet, output);
                File.Delete(parquet);
            }
        }
        Result("gen", records);
        break;
    }
    case "scan":
    {
        // Streams every group's records: the read side.
        using var ds = Grouper.Reading.GroupedDataset.Open(Opt("in"));
        long groups = 0, records = 0, chars = 0;
        // The same question DuckDB answers below: records, groups, characters of text (only that column is read).
        var columns = ds.ColumnIndexes(["text"]);
        bool indexOnly = Opt("index-only", "0") == "1";
        // utf8 (default): characters counted on the stored UTF-8, as DuckDB's length() does; chars: decoded to .NET characters.
        bool asChars = Opt("text", "utf8") == "chars";
        // scan (default): ScanBatches, the whole dataset in one stream; per-group: ReadBatches for each group the index lists.
        if (indexOnly)
            foreach (var g in ds.EnumerateGroups()) { groups++; records += g.RecordCount; }
        else if (Opt("api", "scan") == "per-group")
            foreach (var g in ds.EnumerateGroups())
            {
                groups++;
                foreach (var b in ds.ReadBatches(g, columns)) Count(b);
            }
        else
            foreach (var b in ds.ScanBatches(columns))
            {
                if (b.IsGroupStart) groups++;
                Count(b);
            }
        void Count(Grouper.Reading.RecordBatch b)
        {
            records += b.Count;
            if (asChars) for (int i = 0; i < b.Count; i++) chars += b.GetChars(0, i).Length;
            else for (int i = 0; i < b.Count; i++) chars += System.Text.Encoding.UTF8.GetCharCount(b.GetUtf8(0, i));
        }
        Result("grouper-scan", records, FormattableString.Invariant($"groups={groups} groups_per_s={groups / sw.Elapsed.TotalSeconds:F0} records_per_s={records / sw.Elapsed.TotalSeconds:F0} chars={chars} jit={System.Runtime.JitInfo.GetCompiledMethodCount()} jit_ms={System.Runtime.JitInfo.GetCompilationTime().TotalMilliseconds:F0}"));
        break;
    }
    case "duckscan":
    {
        using var db = new DuckDBConnection("Data Source=:memory:");
        db.Open();
        using var c = db.CreateCommand();
        c.CommandText = $"SET threads={Opt("threads", "2")}; SELECT count(*), count(DISTINCT __group_key), sum(length(text)) FROM read_parquet('{Opt("in")}/data/*.parquet')";
        using var r = c.ExecuteReader();
        r.Read();
        long n = Convert.ToInt64(r.GetValue(0), CultureInfo.InvariantCulture);
        Result("duckdb-scan", n, FormattableString.Invariant($"records_per_s={n / sw.Elapsed.TotalSeconds:F0}"));
        break;
    }
    case "sql":
    {
        // Any DuckDB query, its rows printed tab-separated: to look inside shards (parquet_metadata) by hand.
        using var db = new DuckDBConnection("Data Source=:memory:");
        db.Open();
        using var c = db.CreateCommand();
        c.CommandText = Opt("q");
        using var r = c.ExecuteReader();
        while (r.Read())
            Console.WriteLine(string.Join('\t', Enumerable.Range(0, r.FieldCount).Select(i => Convert.ToString(r.GetValue(i), CultureInfo.InvariantCulture))));
        break;
    }
    case "fetch":
    {
        // Latency of finding one group by key and reading its records: the first pass is cold (new
        // process, nothing cached by Grouper), the second warm.
        using var ds = Grouper.Reading.GroupedDataset.Open(Opt("in"));
        int n = int.Parse(Opt("n", "1000"), CultureInfo.InvariantCulture);
        var rng = new Random(1);
        var keys = new List<string>();
        long total = ds.GroupCount;
        for (int i = 0; i < n; i++) keys.Add(ds.GetGroup((long)(rng.NextDouble() * total))!.Key);
        string Pass(string name)
        {
            var times = new List<double>();
            foreach (var k in keys)
            {
                var t0 = Stopwatch.GetTimestamp();
                var g = ds.FindGroup(k)!;
                foreach (var _ in ds.ReadRecords(g)) { }
                times.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
            }
            times.Sort();
            return FormattableString.Invariant($"{name}_p50_ms={times[times.Count / 2]:F2} {name}_p99_ms={times[(int)(times.Count * 0.99)]:F2}");
        }
        var cold = Pass("cold");
        var warm = Pass("warm");
        Result("fetch", n, $"groups={total} {cold} {warm}");
        break;
    }
    case "grouper":
    {
        var trace = Environment.GetEnvironmentVariable("GROUPER_BENCH_TRACE") == "1";
        var options = new BuildOptions
        {
            Key = KeySpec.FromColumns("user_id"), MemoryLimit = budget, Overwrite = true,
            RowGroupMaxRows = int.Parse(Opt("row-group-rows", "4096"), CultureInfo.InvariantCulture),
            Progress = trace || allocs is not null ? new Trace(sw) : null,
        };
        // GROUPER_BENCH_STEPS=1: when (ms from Main) the build's start-up steps ended, to see what a small build pays before its first record.
        var steps = Environment.GetEnvironmentVariable("GROUPER_BENCH_STEPS") == "1" ? new List<string>() : null;
        void Step(string name) => steps?.Add(FormattableString.Invariant($"{name}={sw.Elapsed.TotalMilliseconds:F1}"));
        Step("options");
        using var builder = new GroupedDatasetBuilder(Opt("out"), options);
        Step("builder");
        if (Opt("objects", "no") == "yes")
        {
            // Records pushed one at a time as objects (a dictionary of strings each), as the cmdlet takes
            // objects from the pipeline: a source that leaves garbage behind every record.
            var pushed = new ObjectRecordReader();
            long row = 0;
            foreach (var file in SourceFiles.Expand(Opt("in")))
                using (var reader = SourceFiles.Open(file))
                    while (reader.Read())
                    {
                        var fields = new Dictionary<string, object?>(reader.FieldCount);
                        for (int i = 0; i < reader.FieldCount; i++) fields[reader.GetName(i)] = reader.GetString(i);
                        pushed.SetCurrent(fields, ++row);
                        builder.Add(pushed);
                    }
        }
        else
        {
            // As New-GroupedDataset does with its files: the build knows how much input to expect.
            var files = SourceFiles.Expand(Opt("in")).ToList();
            builder.ExpectFiles(files);
            foreach (var file in files)
                using (var reader = SourceFiles.Open(file))
                {
                    Step("opened");
                    builder.AddAll(reader);
                    Step("read");
                }
        }
        var manifest = builder.Complete();
        Step("complete");
        if (steps is not null) Console.Error.WriteLine("STEPS " + string.Join(' ', steps));
        Result("grouper", manifest.RecordCount, $"groups={manifest.GroupCount}");
        break;
    }
    case "duckdb":
    {
        var output = Opt("out");
        var temp = output + ".tmp";
        Directory.CreateDirectory(temp);
        using var db = new DuckDBConnection("Data Source=:memory:");
        db.Open();
        using var c = db.CreateCommand();
        // The same job: CSV values as strings (as Grouper keeps them), sorted by the key, Snappy Parquet.
        c.CommandText = $"""
            SET memory_limit='{budget >> 20}MB'; SET threads={Opt("threads", "2")}; SET temp_directory='{temp}'; SET preserve_insertion_order=false;
            COPY (SELECT * FROM {Source(Opt("in"))} ORDER BY user_id)
            TO '{output}' (FORMAT parquet, COMPRESSION snappy);
            """;
        c.ExecuteNonQuery();
        c.CommandText = $"SELECT count(*) FROM read_parquet('{output}')";
        var n = Convert.ToInt64(c.ExecuteScalar(), CultureInfo.InvariantCulture);
        Directory.Delete(temp, true);
        Result("duckdb", n);
        break;
    }
    case "parquetlib":
    {
        // Parquet.Net (Grouper's library) against ParquetSharp (Arrow's C++ Parquet) on Grouper's own data:
        // the rows of a grouped dataset's shards, written as row groups of the same size with Snappy, then
        // one text column read back. Each library's fastest path for text: Parquet.Net takes and gives
        // slices of characters (what Grouper's writer and reader use), ParquetSharp strings.
        int limit = int.Parse(Opt("rows", "2000000"), CultureInfo.InvariantCulture);
        int rowGroup = int.Parse(Opt("row-group-rows", "4096"), CultureInfo.InvariantCulture);
        var names = new List<string>();
        var data = new List<List<string>>();
        foreach (var shard in Directory.GetFiles(Path.Combine(Opt("in"), "data"), "*.parquet").Order(StringComparer.Ordinal))
        {
            using var fs = File.OpenRead(shard);
            var pr = Parquet.ParquetReader.CreateAsync(fs).GetAwaiter().GetResult();
            var fields = pr.Schema.DataFields;
            if (names.Count == 0) { names.AddRange(fields.Select(f => f.Name)); data.AddRange(fields.Select(_ => new List<string>())); }
            for (int g = 0; g < pr.RowGroupCount && data[0].Count < limit; g++)
            {
                using var rg = pr.OpenRowGroupReader(g);
                for (int c = 0; c < fields.Length; c++)
                {
                    var values = new string?[rg.RowCount];
                    rg.ReadAsync(fields[c], values.AsMemory(), null, default).AsTask().GetAwaiter().GetResult();
                    data[c].AddRange(values.Select(v => v ?? ""));
                }
            }
            pr.DisposeAsync().AsTask().GetAwaiter().GetResult();
            if (data[0].Count >= limit) break;
        }
        int rows = data[0].Count;
        var columns = data.Select(d => d.ToArray()).ToArray();
        var slices = columns.Select(c => c.Select(v => v.AsMemory()).ToArray()).ToArray();
        var tmp = Path.Combine(Path.GetTempPath(), $"grouper-parquetlib-{Environment.ProcessId}");
        Directory.CreateDirectory(tmp);
        string pnPath = Path.Combine(tmp, "parquet-net.parquet"), psPath = Path.Combine(tmp, "parquetsharp.parquet");
        int text = names.IndexOf("text");
        double Time(Action a) { var t0 = Stopwatch.GetTimestamp(); a(); return Stopwatch.GetElapsedTime(t0).TotalSeconds; }
        double pnWrite = 0, psWrite = 0, pnRead = 0, psRead = 0;
        for (int pass = 0; pass < 2; pass++) // the first pass warms the JIT for both; the second is reported
        {
            pnWrite = Time(() =>
            {
                var schema = new Parquet.Schema.ParquetSchema(names.Select(n => (Parquet.Schema.Field)new Parquet.Schema.DataField<string>(n, false)).ToArray());
                using var fs = File.Create(pnPath);
                var w = Parquet.ParquetWriter.CreateAsync(schema, fs, new Parquet.ParquetOptions { CompressionMethod = Parquet.CompressionMethod.Snappy }).GetAwaiter().GetResult();
                for (int start = 0; start < rows; start += rowGroup)
                {
                    int n = Math.Min(rowGroup, rows - start);
                    using var rg = w.CreateRowGroup();
                    for (int c = 0; c < names.Count; c++)
                        rg.WriteAsync<ReadOnlyMemory<char>>(schema.DataFields[c], slices[c].AsMemory(start, n), null, null, default).GetAwaiter().GetResult();
                    rg.CompleteValidate();
                }
                w.DisposeAsync().AsTask().GetAwaiter().GetResult();
            });
            psWrite = Time(() =>
            {
                var cols = names.Select(n => (ParquetSharp.Column)new ParquetSharp.Column<string>(n)).ToArray();
                using var w = new ParquetSharp.ParquetFileWriter(psPath, cols, ParquetSharp.Compression.Snappy);
                for (int start = 0; start < rows; start += rowGroup)
                {
                    int n = Math.Min(rowGroup, rows - start);
                    using var rg = w.AppendRowGroup();
                    for (int c = 0; c < names.Count; c++)
                    {
                        using var cw = rg.NextColumn().LogicalWriter<string>();
                        cw.WriteBatch(columns[c], start, n);
                    }
                }
                w.Close();
            });
            long pnChars = 0, psChars = 0;
            pnRead = Time(() =>
            {
                using var fs = File.OpenRead(pnPath);
                var r = Parquet.ParquetReader.CreateAsync(fs).GetAwaiter().GetResult();
                var field = r.Schema.DataFields[text];
                var buf = new ReadOnlyMemory<char>[rowGroup];
                for (int g = 0; g < r.RowGroupCount; g++)
                {
                    using var rg = r.OpenRowGroupReader(g);
                    int n = (int)rg.RowCount;
                    rg.ReadAsync<ReadOnlyMemory<char>>(field, buf.AsMemory(0, n), null, default).AsTask().GetAwaiter().GetResult();
                    for (int i = 0; i < n; i++) pnChars += buf[i].Length;
                }
                r.DisposeAsync().AsTask().GetAwaiter().GetResult();
            });
            psRead = Time(() =>
            {
                using var r = new ParquetSharp.ParquetFileReader(psPath);
                for (int g = 0; g < r.FileMetaData.NumRowGroups; g++)
                {
                    using var rg = r.RowGroup(g);
                    int n = checked((int)rg.MetaData.NumRows);
                    using var cr = rg.Column(text).LogicalReader<string>();
                    foreach (var v in cr.ReadAll(n)) psChars += v.Length;
                }
            });
            if (pnChars != psChars) throw new InvalidOperationException($"The libraries read different text: {pnChars} against {psChars} characters.");
        }
        long pnBytes = new FileInfo(pnPath).Length, psBytes = new FileInfo(psPath).Length;
        Directory.Delete(tmp, true);
        Result("parquetlib", rows, FormattableString.Invariant(
            $"columns={names.Count} parquetnet_write_s={pnWrite:F2} parquetsharp_write_s={psWrite:F2} parquetnet_read_text_s={pnRead:F2} parquetsharp_read_text_s={psRead:F2} parquetnet_mb={pnBytes / 1048576.0:F1} parquetsharp_mb={psBytes / 1048576.0:F1}"));
        break;
    }
    case "read":
    {
        // Reading alone, to see what parsing costs in time and allocations.
        long n = 0, chars = 0;
        using var r = SourceFiles.Open(Opt("in"));
        while (r.Read())
        {
            for (int i = 0; i < r.FieldCount; i++) chars += r.GetChars(i).Length;
            n++;
        }
        Result("read", n, $"chars={chars} alloc_mb={GC.GetTotalAllocatedBytes() >> 20}");
        break;
    }
    default:
        Console.Error.WriteLine("usage: Grouper.Bench gen|grouper|duckdb --option value ...");
        return 2;
}
allocs?.Print();
return 0;

// The same records in every format: CSV and JSON Lines as text (Grouper keeps CSV values as strings).
static string Source(string path) =>
    path.EndsWith(".parquet", StringComparison.Ordinal) ? $"read_parquet('{path}')"
    : path.EndsWith(".jsonl", StringComparison.Ordinal) ? $"read_json('{path}', format='newline_delimited')"
    : $"read_csv('{path}', header=true, all_varchar=true)";

void Result(string tool, long records, string extra = "")
{
    Console.WriteLine(FormattableString.Invariant($"RESULT tool={tool} wall_s={sw.Elapsed.TotalSeconds:F2} rss_peak_mb={PeakRssMb():F0} records={records} {extra}").TrimEnd());
}

static double PeakRssMb()
{
    foreach (var line in File.ReadLines("/proc/self/status"))
        if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
    return double.NaN;
}

// Zipf-distributed group sizes over many users, plus one user ("user_big") whose records take about 1.5x
// the memory budget (at most 40% of the file), spread through the file.
static long Generate(string path, long targetBytes, int seed, long budget, bool tiny)
{
    var rng = new Random(seed);
    int users = (int)Math.Max(1000, targetBytes / 400);
    // Zipf(s=1.1) by inverse CDF over a precomputed table.
    var cdf = new double[users];
    double sum = 0;
    for (int i = 0; i < users; i++) { sum += 1 / Math.Pow(i + 1, 1.1); cdf[i] = sum; }
    long bigBytes = Math.Min(budget * 3 / 2, targetBytes * 2 / 5);
    double bigShare = (double)bigBytes / targetBytes;
    string[] labels = ["cat", "dog", "bird", "fish", "horse", "cow", "sheep", "goat", "duck", "frog"];
    const string words = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua ";
    using var w = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 20);
    w.Write("user_id,ts,label,value,text\n");
    long bytes = 0, records = 0;
    var sb = new StringBuilder(512);
    var t0 = new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc);
    while (bytes < targetBytes)
    {
        sb.Clear();
        string user;
        if (tiny) user = "user_" + (records / 2).ToString("D9", CultureInfo.InvariantCulture); // millions of two-record groups
        else if (rng.NextDouble() < bigShare) user = "user_big";
        else
        {
            int idx = Array.BinarySearch(cdf, rng.NextDouble() * sum);
            user = "user_" + (idx < 0 ? ~idx : idx).ToString("D7", CultureInfo.InvariantCulture);
        }
        int textLen = 40 + rng.Next(200);
        int start = rng.Next(words.Length - 1);
        sb.Append(user).Append(',')
          .Append(t0.AddSeconds(records).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)).Append(',')
          .Append(labels[rng.Next(labels.Length)]).Append(',')
          .Append((rng.NextDouble() * 1000).ToString("F3", CultureInfo.InvariantCulture)).Append(",\"");
        for (int i = 0; i < textLen; i++) sb.Append(words[(start + i) % words.Length]);
        sb.Append("\"\n");
        w.Write(sb);
        bytes += sb.Length;
        records++;
    }
    return records;
}

// The typed file (user_id, ts, label, value, text) written again by Arrow's writer (ParquetSharp) with ts as
// INT96: 8 bytes of nanoseconds within the day and 4 of the Julian day. Snappy, dictionaries, row groups as they were.
static void WithInt96Timestamps(string typed, string output)
{
    using var r = new ParquetSharp.ParquetFileReader(typed);
    var names = Enumerable.Range(0, r.FileMetaData.Schema.NumColumns).Select(i => r.FileMetaData.Schema.Column(i).Name).ToArray();
    if (!names.SequenceEqual(["user_id", "ts", "label", "value", "text"])) throw new InvalidDataException($"Unexpected columns: {string.Join(", ", names)}");
    ParquetSharp.Column[] columns = [new ParquetSharp.Column<string>("user_id"), new ParquetSharp.Column<ParquetSharp.Int96?>("ts"),
        new ParquetSharp.Column<string>("label"), new ParquetSharp.Column<double?>("value"), new ParquetSharp.Column<string>("text")];
    using var props = new ParquetSharp.WriterPropertiesBuilder().Compression(ParquetSharp.Compression.Snappy).Build();
    using var w = new ParquetSharp.ParquetFileWriter(output, columns, props);
    for (int g = 0; g < r.FileMetaData.NumRowGroups; g++)
    {
        using var rg = r.RowGroup(g);
        int n = checked((int)rg.MetaData.NumRows);
        using var og = w.AppendRowGroup();
        foreach (int c in new[] { 0, 1, 2, 3, 4 })
        {
            using var col = og.NextColumn();
            if (c == 1)
            {
                var ts = rg.Column(1).LogicalReader<DateTime?>().ReadAll(n);
                using var tw = col.LogicalWriter<ParquetSharp.Int96?>();
                tw.WriteBatch(ts.Select(t => t is { } v ? Int96Of(v) : (ParquetSharp.Int96?)null).ToArray());
            }
            else if (c == 3)
            {
                using var dw = col.LogicalWriter<double?>();
                dw.WriteBatch(rg.Column(3).LogicalReader<double?>().ReadAll(n));
            }
            else
            {
                using var sw = col.LogicalWriter<string>();
                sw.WriteBatch(rg.Column(c).LogicalReader<string>().ReadAll(n));
            }
        }
    }
    w.Close();

    static ParquetSharp.Int96 Int96Of(DateTime t)
    {
        long days = Math.DivRem(t.Ticks - DateTime.UnixEpoch.Ticks, TimeSpan.TicksPerDay, out long within);
        if (within < 0) { within += TimeSpan.TicksPerDay; days--; }
        long nanos = within * 100;
        return new ParquetSharp.Int96((int)nanos, (int)(nanos >> 32), checked((int)(days + 2_440_588)));
    }
}

/// <summary>With GROUPER_BENCH_TRACE=1: memory at each progress report, to see which phase holds it.</summary>
sealed class Trace(Stopwatch sw) : IProgress<BuildProgress>
{
    private BuildPhase _last;
    public void Report(BuildProgress p)
    {
        if (p.Phase != _last) { Console.Error.WriteLine($"-- allocations before {p.Phase}:"); AllocListener.Instance?.Print(); _last = p.Phase; }
        Print(p);
    }
    private void Print(BuildProgress p) => Console.Error.WriteLine(FormattableString.Invariant(
        $"{sw.Elapsed.TotalSeconds,7:F2}s {p.Phase,-10} read={p.RecordsRead} written={p.RecordsWritten} runs={p.SpillRuns} rss={Environment.WorkingSet >> 20}MB cpu={Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds:F2}s managed={GC.GetTotalMemory(false) >> 20}MB committed={GC.GetGCMemoryInfo().TotalCommittedBytes >> 20}MB alloc={GC.GetTotalAllocatedBytes() >> 20}MB jit={System.Runtime.JitInfo.GetCompiledMethodCount()} jitms={System.Runtime.JitInfo.GetCompilationTime().TotalMilliseconds:F0} gcs={GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)} gcpause={GC.GetTotalPauseDuration().TotalMilliseconds:F0}ms{Heaps()}"));
    // Where the heap's memory is after the last collection: fragmentation, and each generation's size (gen0-2, large, pinned).
    private static string Heaps()
    {
        if (Environment.GetEnvironmentVariable("GROUPER_BENCH_HEAPS") != "1") return "";
        var info = GC.GetGCMemoryInfo();
        var gens = info.GenerationInfo;
        var sizes = "";
        for (int i = 0; i < gens.Length; i++) sizes += (i > 0 ? "/" : "") + (gens[i].SizeAfterBytes >> 20).ToString(CultureInfo.InvariantCulture);
        return FormattableString.Invariant($" frag={info.FragmentedBytes >> 20}MB gens={sizes}MB");
    }
}

/// <summary>With GROUPER_BENCH_ALLOC=1: which types the run allocates (sampled by the runtime every ~100 KB).</summary>
sealed class AllocListener : System.Diagnostics.Tracing.EventListener
{
    public static AllocListener? Instance;
    private readonly Dictionary<string, long> _bytes = new();
    protected override void OnEventSourceCreated(System.Diagnostics.Tracing.EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
            EnableEvents(source, System.Diagnostics.Tracing.EventLevel.Verbose, (System.Diagnostics.Tracing.EventKeywords)0x1);
    }
    protected override void OnEventWritten(System.Diagnostics.Tracing.EventWrittenEventArgs e)
    {
        if (e.EventName != "GCAllocationTick_V4" || e.Payload is null) return;
        var type = e.Payload[e.PayloadNames!.IndexOf("TypeName")]?.ToString() ?? "?";
        lock (_bytes) _bytes[type] = _bytes.GetValueOrDefault(type) + 100_000;
    }
    public void Print()
    {
        lock (_bytes)
            foreach (var (t, b) in _bytes.OrderByDescending(p => p.Value).Take(15)) Console.Error.WriteLine($"{b >> 20,8} MB  {t}");
    }
}
