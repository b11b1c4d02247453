using System.Globalization;
using System.Text;
using Grouper.Format;
using Grouper.Keys;
using Grouper.Reading;
using Grouper.Sources;
using Grouper.Writer;
using Xunit;
using Xunit.Abstractions;

namespace Grouper.Tests.Reliability;

/// <summary>
/// Whole builds of fuzzed inputs (mutated CSV, TSV and JSON Lines; pipeline objects of every kind; Parquet files
/// of random types; several files of mixed formats): the readers' fuzz targets (<see cref="FuzzTests"/>) check
/// that bad bytes are refused cleanly; this checks what is not refused. Every input either fails with a
/// GrouperException, leaving no destination, or gives a dataset that verifies and holds exactly the records the
/// sources' readers read: the same values (after the column's type is settled), each group's records under one
/// key, in input order, and fetched by that key.
/// </summary>
public class BuildFuzzTests(ITestOutputHelper output)
{
    // GROUPER_FUZZ_CASES runs more cases locally; CI runs a bounded number.
    private static readonly int CasesPerFormat =
        int.TryParse(Environment.GetEnvironmentVariable("GROUPER_FUZZ_CASES"), out int n) && n > 0 ? n : 150;

    private static readonly byte[] Special = "\"\n\r,\t{}[]:\\-.0123456789eE+ZT\0"u8.ToArray().Append((byte)0xFF).ToArray();

    private static readonly Dictionary<string, string> Seeds = new()
    {
        ["csv"] = "k,n,x,b,t,s\n" +
                  "a,1,1.5,true,2024-01-01T00:00:00Z,hello\n" +
                  "b,-2,1e3,false,,\"q \"\"x\"\" , y\"\n" +
                  "a,3,-0.0,,2024-02-29T12:00:00.123Z,\"multi\nline\"\n" +
                  "c,9007199254740993,2.5,true,2024-01-01,é💥\n" +
                  "b,,1,false,2024-01-01T00:00:00+02:00,\n" +
                  ",7,0.1,TRUE,1999-12-31T23:59:59Z,last\n",
        ["tsv"] = "k\tn\tx\ts\n" +
                  "a\t1\t2.5\tx y\n" +
                  "b\t-2\t3\t\"not quoted\"\n" +
                  "a\t40\t-1e-5\t\n" +
                  "\t5\t6\tz\n",
        ["jsonl"] = "{\"k\":\"a\",\"n\":1,\"x\":1.5,\"b\":true,\"t\":\"2024-01-01T00:00:00Z\",\"s\":\"hi\",\"o\":{\"y\":[1,2]},\"z\":null}\n" +
                    "{\"k\":\"b\",\"n\":-2,\"x\":1e3,\"b\":false,\"s\":\"q \\\"x\\\"\"}\n" +
                    "{\"k\":\"a\",\"n\":9007199254740993,\"x\":-0.0,\"s\":\"\\u00e9\\ud83d\\udca5\"}\n" +
                    "{\"k\":\"c\",\"n\":35,\"x\":3.5,\"t\":\"2024-02-29T12:00:00.123Z\"}\n" +
                    "{\"n\":4,\"k\":\"b\",\"x\":2}\n" +
                    "{\"k\":null,\"n\":5}\n",
    };

    // Values and names for JSON Lines' mutations of whole values: byte edits alone break most lines' syntax.
    private static readonly string[] JsonValues =
    [
        "0", "-0", "1", "-1", "35", "9007199254740992", "9007199254740993", "-9223372036854775808", "9223372036854775807",
        "18446744073709551615", "9223372036854775808", "1e308", "1e400", "-1E+999", "5e-324", "1.5", "-0.0", "2.5e3", "\"\"", "\"a\"", "\"\\u0000\"", "\"\\u00e9\\ud83d\\udca5\"",
        "\"2024-01-01T00:00:00Z\"", "\"\\ud800\"", "true", "false", "null", "{}", "[]", "{\"a\":[1,{\"b\":null}]}",
        "\"" + new string('w', 5000) + "\"", "\"q \\\"x\\\" \\n y\"",
    ];
    private static readonly string[] JsonNames = ["k", "n", "x", "b", "t", "s", "new", "K", "k ", "\\u006b", "\u00e9"];

    /// <summary>One line's field set to a value or name from the pools, or the line's field dropped; the line's own bytes otherwise.</summary>
    private static byte[] MutateJsonValue(byte[] seed, Random rng)
    {
        var lines = Encoding.UTF8.GetString(seed).Split('\n').ToList();
        int at = rng.Next(lines.Count);
        // Field by field as written (JsonDocument keeps duplicate names and numbers' text).
        List<(string Name, string Value)> fields;
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(lines[at]);
            if (doc.RootElement.ValueKind != System.Text.Json.JsonValueKind.Object) return seed;
            fields = doc.RootElement.EnumerateObject().Select(p => (System.Text.Json.JsonSerializer.Serialize(p.Name), p.Value.GetRawText())).ToList();
        }
        catch (System.Text.Json.JsonException) { return seed; }
        int f = fields.Count == 0 ? -1 : rng.Next(fields.Count);
        switch (rng.Next(4))
        {
            case 0 when f >= 0: fields.RemoveAt(f); break;
            case 1 when f >= 0: fields[f] = ("\"" + JsonNames[rng.Next(JsonNames.Length)] + "\"", fields[f].Value); break;
            case 2: fields.Add(("\"" + JsonNames[rng.Next(JsonNames.Length)] + "\"", JsonValues[rng.Next(JsonValues.Length)])); break;
            default: if (f >= 0) fields[f] = (fields[f].Name, JsonValues[rng.Next(JsonValues.Length)]); break;
        }
        lines[at] = "{" + string.Join(",", fields.Select(x => x.Name + ":" + x.Value)) + "}";
        return Encoding.UTF8.GetBytes(string.Join("\n", lines));
    }

    private static byte[] Mutate(byte[] seed, Random rng, string format)
    {
        if (format == "jsonl" && rng.Next(3) > 0)
        {
            int times = 1 + rng.Next(3);
            for (int i = 0; i < times; i++) seed = MutateJsonValue(seed, rng);
            return seed;
        }
        var d = seed.ToList();
        int edits = 1 + rng.Next(3);
        for (int e = 0; e < edits && d.Count > 0; e++)
        {
            int at = rng.Next(d.Count);
            switch (rng.Next(7))
            {
                case 0: d[at] ^= (byte)(1 << rng.Next(8)); break;
                case 1: d.RemoveAt(at); break;
                case 2: d.Insert(at, Special[rng.Next(Special.Length)]); break;
                case 3: { int from = rng.Next(d.Count); d.InsertRange(at, d.GetRange(from, Math.Min(24, d.Count - from))); break; }
                case 4:
                {
                    // A whole line again elsewhere: more records with keys and values of the same shapes.
                    int start = d.LastIndexOf((byte)'\n', at) + 1, end = d.IndexOf((byte)'\n', at);
                    if (end < 0) break;
                    var line = d.GetRange(start, end - start + 1);
                    d.InsertRange(d.IndexOf((byte)'\n') + 1, line);
                    break;
                }
                default: d[at] = Special[rng.Next(Special.Length)]; break;
            }
        }
        return d.ToArray();
    }

    /// <summary>Why builds were refused, counted by the start of their messages: what a run's output shows.</summary>
    private sealed class Refusals
    {
        private readonly Dictionary<string, int> _counts = new();
        public int Total { get; private set; }

        /// <summary>Counts a refusal; <paramref name="skipWords"/> drops a message's leading file name and line.</summary>
        public void Add(GrouperException ex, int skipWords = 0)
        {
            Total++;
            var why = $"{ex.Kind}: {string.Join(' ', ex.Message.Split(' ').Skip(skipWords).Take(9))}";
            _counts[why] = _counts.GetValueOrDefault(why) + 1;
        }

        public void Report(ITestOutputHelper output, string what, int built)
        {
            output.WriteLine($"{what}: {built} built, {Total} refused");
            foreach (var (why, count) in _counts.OrderByDescending(x => x.Value).Take(12)) output.WriteLine($"  {count,5} {why}");
        }
    }

    /// <summary>Null keys grouped (more inputs build), a small budget and small row groups (more boundaries crossed).</summary>
    private static BuildOptions Options(int rowGroupMaxRows) => new()
    {
        Key = new ColumnKeySpec(["k"]) { NullPolicy = NullKeyPolicy.Group, NullGroupName = "(none)" },
        MemoryLimit = 4 << 20, RowGroupMaxRows = rowGroupMaxRows,
    };

    /// <summary>A value as text that does not depend on the type the column settled on (an integer widened to a double prints alike).</summary>
    internal static string Canon(object? v, bool exactTimes = false) => v switch
    {
        null => "null",
        string s => "s:" + s,
        long or int or short or sbyte or byte or ushort or uint or ulong => "n:" + Convert.ToString(v, CultureInfo.InvariantCulture),
        // A whole double within a long's range prints as that integer, as the integer it may have been widened from.
        double d when d == Math.Floor(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0 => "n:" + ((long)d).ToString(CultureInfo.InvariantCulture),
        double d when d == Math.Floor(d) && d >= 9223372036854775808.0 && d < 18446744073709551616.0 => "n:" + ((ulong)d).ToString(CultureInfo.InvariantCulture),
        double d => "n:" + d.ToString("R", CultureInfo.InvariantCulture),
        float f => Canon((double)f), // as a column widened to double holds it
        decimal m => "n:" + (m / 1.0000000000000000000000000000m).ToString(CultureInfo.InvariantCulture), // the value, not its scale
        bool b => "b:" + b,
        // The instant: local times as UTC, the others' ticks as they are (the machine's zone plays no part).
        // Timestamps and times are written to the microsecond (docs/format.md): a tick below it is not compared.
        DateTime t => "t:" + Micros((t.Kind == DateTimeKind.Local ? t.ToUniversalTime() : t).Ticks, exactTimes),
        DateTimeOffset t => "t:" + Micros(t.UtcTicks, exactTimes),
        TimeSpan t => "time:" + Micros(t.Ticks, exactTimes),
        TimeOnly t => "time:" + Micros(t.Ticks, exactTimes),
        byte[] bytes => "x:" + Convert.ToBase64String(bytes),
        _ => v.GetType().Name + ":" + Convert.ToString(v, CultureInfo.InvariantCulture),
    };

    private static string Micros(long ticks, bool exact) => (exact ? ticks : ticks / 10).ToString(CultureInfo.InvariantCulture);

    private static List<Dictionary<string, string>> ReadSource(string file, bool exactTimes = false)
    {
        var rows = new List<Dictionary<string, string>>();
        using var r = SourceFiles.Open(file);
        while (r.Read())
        {
            var row = new Dictionary<string, string>();
            for (int i = 0; i < r.FieldCount; i++) row[r.GetName(i)] = Canon(r.GetValue(i), exactTimes);
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>Null if the build's dataset holds what the reader read; otherwise what differs.</summary>
    private static string? Compare(List<Dictionary<string, string>> source, string dataset, bool exactTimes = false)
    {
        var problems = DatasetVerifier.Verify(dataset).ToList();
        if (problems.Count > 0) return "the dataset does not verify: " + string.Join("; ", problems.Select(p => p.ToString()));
        using var ds = GroupedDataset.Open(dataset);
        var names = ds.Manifest.Columns.Select(c => c.Name).ToArray();
        // A source record as the dataset holds it: every column, null where the record had no such field.
        string Row(Dictionary<string, string> r) => string.Join("|", names.Select(n => r.TryGetValue(n, out var v) ? v : "null"));
        var expected = source.Select(Row).ToList();
        var got = new List<string>();
        foreach (var g in ds.EnumerateGroups())
        {
            // Fetched by its key (the index's search, whatever bytes the key holds), the group is the one listed.
            if (ds.FindGroup(g.Key) != g) return $"group {g.Key}: fetched by its key, {ds.FindGroup(g.Key)?.ToString() ?? "nothing"} came back";
            var records = ds.ReadRecords(g).Select(r => string.Join("|", r.Select(v => Canon(v, exactTimes)))).ToList();
            if (records.Count != g.RecordCount) return $"group {g.Key}: {records.Count} records read, the index says {g.RecordCount}";
            // Input order within the group: the group's records are a subsequence of the source, in its order.
            int at = 0;
            foreach (var rec in records)
            {
                while (at < expected.Count && expected[at] != rec) at++;
                if (at++ == expected.Count) return $"group {g.Key}: record {rec} is not in the source, or not in its order";
            }
            got.AddRange(records);
        }
        var missing = expected.Order(StringComparer.Ordinal).ToList();
        var present = got.Order(StringComparer.Ordinal).ToList();
        if (!missing.SequenceEqual(present))
            return $"the dataset's {present.Count} records are not the source's {missing.Count}: first difference " +
                   missing.Except(present).Concat(present.Except(missing)).FirstOrDefault();
        return null;
    }

    // CLR values of every kind the pipeline's objects bring, edge cases first; a column draws from one family
    // mostly (else nearly every case would stop at a type conflict) and now and then from any.
    private static readonly object?[][] ObjectFamilies =
    [
        [null, 0, -1, int.MaxValue, 7L, long.MinValue, 9007199254740993L, (byte)200, (short)-3, 18446744073709551615UL, 5UL, 2.5, -0.0, double.NaN,
            double.PositiveInfinity, 1e-300, 0.1f, float.MaxValue],
        [null, 0.1m, -79228162514264337593543950335m, 1.0000000000000000000000000001m, 0m, 12.50m],
        [null, "", "a", "é💥", "\0", "x|y\\z", new string('w', 3000)],
        [null, true, false],
        [null, new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc), new DateTime(2024, 2, 29, 12, 30, 0, 123, DateTimeKind.Unspecified),
            DateTime.MinValue, new DateTime(9999, 12, 31, 23, 59, 59, DateTimeKind.Utc), new DateTimeOffset(2024, 6, 1, 8, 0, 0, TimeSpan.FromHours(2)),
            new DateTime(1969, 12, 31, 23, 59, 59, 999, DateTimeKind.Utc).AddTicks(9999)],
        [null, new DateOnly(2024, 2, 29), DateOnly.MinValue, DateOnly.MaxValue, new DateOnly(1970, 1, 1)],
        [null, TimeSpan.Zero, new TimeSpan(0, 23, 59, 59, 999).Add(TimeSpan.FromTicks(9999)), new TimeOnly(12, 0), TimeSpan.FromMinutes(90),
            TimeSpan.FromHours(30), TimeSpan.FromMinutes(-5)],
        [null, Array.Empty<byte>(), new byte[] { 0, 255, 1 }, Enumerable.Range(0, 300).Select(i => (byte)i).ToArray()],
        [null, Guid.Empty, new Uri("http://example.com/a?b=c"), 'c', DayOfWeek.Friday, new List<object?> { 1, "a", null },
            new System.Collections.Hashtable { ["b"] = 2.5, ["a"] = new object?[] { true } }],
    ];

    /// <summary>What the dataset reads back for a value the object reader classified: its kind's CLR value.</summary>
    private static string CanonObject(ObjectRecordReader r, int o) => Canon(r.GetKind(o) switch
    {
        Schema.ValueKind.Null => null,
        Schema.ValueKind.Timestamp => r.GetDateTime(o),
        Schema.ValueKind.Time => r.GetTime(o),
        _ => r.GetValue(o),
    });

    [Fact]
    public void A_build_of_any_objects_fails_cleanly_or_holds_their_values()
    {
        using var t = new TempDir();
        var rng = new Random(Environment.TickCount);
        int built = 0;
        var refusals = new Refusals();
        for (int i = 0; i < CasesPerFormat; i++)
        {
            var names = new[] { "k", "a", "b", "c" }.Take(2 + rng.Next(3)).ToArray();
            var family = names.ToDictionary(n => n, _ => ObjectFamilies[rng.Next(ObjectFamilies.Length)]);
            var rows = Enumerable.Range(0, 1 + rng.Next(40)).Select(_ => names.Where(_ => rng.Next(8) > 0).Select(n =>
            {
                var pool = rng.Next(60) == 0 ? ObjectFamilies[rng.Next(ObjectFamilies.Length)] : family[n];
                return new KeyValuePair<string, object?>(n, n == "k" ? $"g{rng.Next(4)}" : pool[rng.Next(pool.Length)]);
            }).ToList()).ToList();
            var dest = t[$"ds{i}"];
            var source = new List<Dictionary<string, string>>();
            try
            {
                using var b = new GroupedDatasetBuilder(dest, Options(3));
                var reader = new ObjectRecordReader();
                long row = 0;
                foreach (var fields in rows)
                {
                    reader.SetCurrent(fields, ++row);
                    source.Add(fields.ToDictionary(f => f.Key, f => CanonObject(reader, reader.GetOrdinal(f.Key))));
                    b.Add(reader);
                }
                b.Complete();
            }
            catch (GrouperException ex)
            {
                refusals.Add(ex);
                Assert.False(Directory.Exists(dest), $"case {i}: a refused build left its destination");
                continue;
            }
            catch (Exception ex)
            {
                Assert.Fail($"case {i} ({Describe(rows)}): {ex.GetType().Name}: {ex.Message}\n{ex.StackTrace}");
            }
            built++;
            var problem = Compare(source, dest);
            Assert.True(problem is null, $"case {i} ({Describe(rows)}): {problem}");
            Directory.Delete(dest, recursive: true);
        }
        refusals.Report(output, "objects", built);
        Assert.True(built > CasesPerFormat / 8, $"only {built} of {CasesPerFormat} sets of objects were built");

        static string Describe(List<List<KeyValuePair<string, object?>>> rows) => string.Join("; ", rows.Take(12).Select(r =>
            string.Join(",", r.Select(f => $"{f.Key}={f.Value?.GetType().Name}:{Convert.ToString(f.Value, CultureInfo.InvariantCulture)?[..Math.Min(20, Convert.ToString(f.Value, CultureInfo.InvariantCulture)!.Length)]}"))));
    }

    /// <summary>A Parquet column of random type and values, written by Parquet.Net.</summary>
    private abstract class ParquetColumn
    {
        public required Parquet.Schema.DataField Field { get; init; }
        public abstract Task WriteAsync(Parquet.ParquetRowGroupWriter rg, int rows, Random rng);
    }

    private sealed class ParquetColumn<T> : ParquetColumn where T : struct
    {
        public required Func<Random, T> Pick { get; init; }
        public override Task WriteAsync(Parquet.ParquetRowGroupWriter rg, int rows, Random rng) => Field.IsNullable
            ? rg.WriteAsync<T>(Field, Enumerable.Range(0, rows).Select(_ => rng.Next(5) == 0 ? (T?)null : Pick(rng)).ToArray().AsMemory(), null, null, default)
            : rg.WriteAsync<T>(Field, Enumerable.Range(0, rows).Select(_ => Pick(rng)).ToArray().AsMemory(), null, null, default);
    }

    private sealed class ParquetRefColumn<T> : ParquetColumn where T : class
    {
        public required Func<Random, T> Pick { get; init; }
        public override Task WriteAsync(Parquet.ParquetRowGroupWriter rg, int rows, Random rng)
        {
            var values = Enumerable.Range(0, rows).Select(_ => Field.IsNullable && rng.Next(5) == 0 ? null : Pick(rng)).ToArray();
            return values switch
            {
                string?[] text => rg.WriteAsync(Field, text, null),
                byte[]?[] bytes => rg.WriteAsync(Field, bytes, null),
                _ => throw new NotSupportedException(typeof(T).Name),
            };
        }
    }

    private static T PickOf<T>(Random rng, params T[] values) => values[rng.Next(values.Length)];

    private static ParquetColumn RandomParquetColumn(string name, Random rng)
    {
        bool nullable = rng.Next(2) == 0;
        switch (rng.Next(12))
        {
            case 0: return new ParquetColumn<int> { Field = new Parquet.Schema.DataField<int>(name, nullable), Pick = r => PickOf(r, int.MinValue, -1, 0, 7, int.MaxValue, r.Next()) };
            case 1: return new ParquetColumn<long> { Field = new Parquet.Schema.DataField<long>(name, nullable), Pick = r => PickOf(r, long.MinValue, long.MaxValue, 0L, 9007199254740993L, r.NextInt64()) };
            case 2: return new ParquetColumn<double> { Field = new Parquet.Schema.DataField<double>(name, nullable), Pick = r => PickOf(r, double.NaN, double.NegativeInfinity, -0.0, 5e-324, 1e308, r.NextDouble()) };
            case 3: return new ParquetColumn<float> { Field = new Parquet.Schema.DataField<float>(name, nullable), Pick = r => PickOf(r, float.NaN, float.MaxValue, -0f, float.Epsilon, r.NextSingle()) };
            case 4: return new ParquetColumn<bool> { Field = new Parquet.Schema.DataField<bool>(name, nullable), Pick = r => r.Next(2) == 0 };
            case 5:
            {
                // Decimals of every precision Parquet allows, each value within it (and within .NET's 28-29 digits).
                int precision = 1 + rng.Next(38), scale = rng.Next(Math.Min(precision, 28) + 1);
                int digits = Math.Min(precision, 28);
                return new ParquetColumn<decimal>
                {
                    Field = new Parquet.Schema.DecimalDataField(name, precision, scale, rng.Next(2) == 0, nullable),
                    Pick = r =>
                    {
                        var mantissa = (decimal)(r.NextInt64(0, 1_000_000_000_000_000_000) % (long)Math.Pow(10, Math.Min(digits, 18)));
                        for (int extra = digits - 18; extra > 0; extra--) mantissa = mantissa * 10 + r.Next(10);
                        if (r.Next(4) == 0) mantissa = PickOf(r, 0m, 1m, (decimal)Math.Pow(10, Math.Min(digits, 28)) - 1);
                        return (r.Next(2) == 0 ? -mantissa : mantissa) / (decimal)Math.Pow(10, scale);
                    },
                };
            }
            case 6:
            {
                // Timestamps in each unit, adjusted to UTC or not, at that unit's precision and within its range.
                var unit = PickOf(rng, Parquet.Schema.DateTimeTimeUnit.Millis, Parquet.Schema.DateTimeTimeUnit.Micros, Parquet.Schema.DateTimeTimeUnit.Nanos);
                bool utc = rng.Next(2) == 0;
                long step = unit switch { Parquet.Schema.DateTimeTimeUnit.Millis => 10_000, Parquet.Schema.DateTimeTimeUnit.Micros => 10, _ => 1 };
                long min = unit == Parquet.Schema.DateTimeTimeUnit.Nanos ? new DateTime(1678, 1, 1).Ticks : new DateTime(1, 1, 1).Ticks;
                long max = unit == Parquet.Schema.DateTimeTimeUnit.Nanos ? new DateTime(2262, 1, 1).Ticks : DateTime.MaxValue.Ticks;
                return new ParquetColumn<DateTime>
                {
                    Field = new Parquet.Schema.DateTimeDataField(name, Parquet.Schema.DateTimeFormat.Timestamp, utc, unit, nullable),
                    Pick = r => new DateTime(PickOf(r, min, max - max % step, new DateTime(1970, 1, 1).Ticks, r.NextInt64(min, max) / step * step), utc ? DateTimeKind.Utc : DateTimeKind.Unspecified),
                };
            }
            case 7: return new ParquetColumn<DateOnly> { Field = new Parquet.Schema.DataField<DateOnly>(name, nullable), Pick = r => PickOf(r, DateOnly.MinValue, DateOnly.MaxValue, new DateOnly(1970, 1, 1), DateOnly.FromDayNumber(r.Next(3_652_059))) };
            case 8: return new ParquetColumn<short> { Field = new Parquet.Schema.DataField<short>(name, nullable), Pick = r => PickOf(r, short.MinValue, short.MaxValue, (short)0, (short)r.Next(short.MaxValue)) };
            case 9: return new ParquetColumn<ulong> { Field = new Parquet.Schema.DataField<ulong>(name, nullable), Pick = r => PickOf(r, ulong.MaxValue, 0UL, 9007199254740993UL, (ulong)r.NextInt64()) };
            case 10: return new ParquetRefColumn<byte[]> { Field = new Parquet.Schema.DataField<byte[]>(name, nullable), Pick = r => PickOf(r, [], [0], Enumerable.Range(0, r.Next(300)).Select(i => (byte)i).ToArray()) };
            default: return new ParquetRefColumn<string> { Field = new Parquet.Schema.DataField<string>(name, nullable), Pick = r => PickOf(r, "", "a", "é💥", "x|y\\z", new string('w', r.Next(2000)), "\0") };
        }
    }

    /// <summary>A Parquet file of a text key "k" and columns of these names of random types, in 1-3 row groups; its columns.</summary>
    private static async Task<List<ParquetColumn>> WriteRandomParquet(string file, IEnumerable<string> names, Random rng, int? typeSeed = null)
    {
        // The same typeSeed gives the same columns (types, nullability): files of one schema.
        var columns = names.Select((n, j) => RandomParquetColumn(n, typeSeed is { } seed ? new Random(seed + j) : rng)).ToList();
        var shape = typeSeed is { } s ? new Random(s - 1) : rng;
        var key = new ParquetRefColumn<string> { Field = new Parquet.Schema.DataField<string>("k", shape.Next(2) == 0), Pick = r => $"g{r.Next(5)}" };
        columns.Insert(shape.Next(columns.Count + 1), key);
        using var fs = File.Create(file);
        await using var w = await Parquet.ParquetWriter.CreateAsync(new Parquet.Schema.ParquetSchema(columns.Select(c => c.Field).ToArray()), fs);
        for (int g = 0, groups = 1 + rng.Next(3); g < groups; g++)
        {
            using var rg = w.CreateRowGroup();
            int rows = rng.Next(150);
            foreach (var c in columns) await c.WriteAsync(rg, rows, rng);
        }
        return columns;
    }

    [Fact]
    public async Task A_build_of_several_files_of_any_formats_fails_cleanly_or_holds_them_all()
    {
        // Files of different formats in one build: declared schemas (Parquet, CSV) meet flexible ones (JSON
        // Lines) and each other over the same column names, with columns a file lacks.
        using var t = new TempDir();
        var rng = new Random(Environment.TickCount);
        int cases = Math.Max(30, CasesPerFormat / 3), built = 0;
        var refusals = new Refusals();
        string[] names = ["n", "x", "s", "b", "t"];
        for (int i = 0; i < cases; i++)
        {
            // A third of the cases are files of one format and one schema (Parquet or CSV): these build, and
            // check that records from several files and their row numbers come through; the rest mix formats
            // and column sets, which mostly stop at a conflict, cleanly.
            int mode = rng.Next(3), typeSeed = rng.Next();
            var shared = names.Where(_ => rng.Next(2) == 0).ToList();
            var files = new List<string>();
            for (int f = 0, count = 2 + rng.Next(2); f < count; f++)
            {
                var chosen = mode < 2 ? shared : names.Where(_ => rng.Next(2) == 0).ToList();
                switch (mode < 2 ? mode : rng.Next(3))
                {
                    case 0:
                        files.Add(t[$"in{i}-{f}.parquet"]);
                        await WriteRandomParquet(files[^1], chosen, rng, mode == 0 ? typeSeed : null);
                        break;
                    case 2:
                        files.Add(t[$"in{i}-{f}.jsonl"]);
                        var jsonl = Encoding.UTF8.GetBytes(Seeds["jsonl"]);
                        for (int m = rng.Next(4); m > 0; m--) jsonl = MutateJsonValue(jsonl, rng);
                        File.WriteAllBytes(files[^1], jsonl);
                        break;
                    default:
                        files.Add(t[$"in{i}-{f}.csv"]);
                        File.WriteAllText(files[^1], string.Join(",", chosen.Prepend("k")) + "\n" +
                            string.Concat(Enumerable.Range(0, rng.Next(20)).Select(r => string.Join(",", chosen.Select(_ => PickOf(rng, "", "1", "2.5", "a", "\"q,\"\"\"")).Prepend($"g{r % 3}")) + "\n")));
                        break;
                }
            }
            var dest = t[$"ds{i}"];
            var source = new List<Dictionary<string, string>>();
            try
            {
                using var b = new GroupedDatasetBuilder(dest, Options(5));
                foreach (var file in files)
                    using (var r = SourceFiles.Open(file)) b.AddAll(r);
                b.Complete();
                foreach (var file in files) source.AddRange(ReadSource(file, exactTimes: true));
            }
            catch (GrouperException ex)
            {
                refusals.Add(ex);
                Assert.False(Directory.Exists(dest), $"case {i}: a refused build left its destination");
                continue;
            }
            catch (Exception ex)
            {
                Assert.Fail($"case {i} ({string.Join(", ", files.Select(Path.GetFileName))}): {ex.GetType().Name}: {ex.Message}\n{ex.StackTrace}");
            }
            built++;
            var problem = Compare(source, dest, exactTimes: true);
            Assert.True(problem is null, $"case {i} ({string.Join(", ", files.Select(f => Path.GetFileName(f) + ": " + Convert.ToBase64String(File.ReadAllBytes(f))))}): {problem}");
            Directory.Delete(dest, recursive: true);
        }
        refusals.Report(output, "files", built);
        Assert.True(built > cases / 10, $"only {built} of {cases} sets of files were built");
    }

    [Fact]
    public async Task A_build_of_any_parquet_file_holds_its_values_exactly()
    {
        using var t = new TempDir();
        var rng = new Random(Environment.TickCount);
        int cases = Math.Max(20, CasesPerFormat / 5), built = 0;
        var refusals = new Refusals();
        for (int i = 0; i < cases; i++)
        {
            var file = t[$"in{i}.parquet"];
            var columns = await WriteRandomParquet(file, Enumerable.Range(0, 1 + rng.Next(5)).Select(c => $"c{c}"), rng);
            var dest = t[$"ds{i}"];
            string Describe() => string.Join(", ", columns.Select(c => c.Field.ToString()));
            try
            {
                using var b = new GroupedDatasetBuilder(dest, Options(7));
                using (var r = SourceFiles.Open(file)) b.AddAll(r);
                b.Complete();
            }
            catch (GrouperException ex)
            {
                refusals.Add(ex);
                Assert.False(Directory.Exists(dest));
                continue;
            }
            catch (Exception ex)
            {
                Assert.Fail($"case {i} ({Describe()}): {ex.GetType().Name}: {ex.Message}\n{ex.StackTrace}");
            }
            built++;
            var problem = Compare(ReadSource(file, exactTimes: true), dest, exactTimes: true);
            Assert.True(problem is null, $"case {i} ({Describe()}): {problem}");
            Directory.Delete(dest, recursive: true);
            File.Delete(file);
        }
        refusals.Report(output, "parquet", built);
        // Every file Parquet.Net writes is one a build must take: only the few types Grouper refuses may stop one.
        Assert.True(built == cases, $"{cases - built} of {cases} Parquet files were refused");
    }

    [Theory]
    [InlineData("csv")]
    [InlineData("tsv")]
    [InlineData("jsonl")]
    public void A_build_of_any_input_fails_cleanly_or_holds_what_its_reader_read(string format)
    {
        using var t = new TempDir();
        var seed = Encoding.UTF8.GetBytes(Seeds[format]);
        var rng = new Random(Environment.TickCount);
        int built = 0;
        var refusals = new Refusals();
        for (int i = -1; i < CasesPerFormat; i++)
        {
            var input = i < 0 ? seed : Mutate(seed, rng, format);
            var file = t[$"in{i}.{format}"];
            File.WriteAllBytes(file, input);
            var dest = t[$"ds{i}"];
            string Case() => $"{format} case {i} (base64 {Convert.ToBase64String(input)})";
            List<Dictionary<string, string>> source;
            try
            {
                using (var b = new GroupedDatasetBuilder(dest, Options(3)))
                {
                    using (var r = SourceFiles.Open(file)) b.AddAll(r);
                    b.Complete();
                }
                source = ReadSource(file);
            }
            catch (GrouperException ex)
            {
                refusals.Add(ex, skipWords: 2);
                Assert.False(Directory.Exists(dest), $"{Case()}: a refused build left its destination");
                continue;
            }
            catch (Exception ex)
            {
                Assert.Fail($"{Case()}: {ex.GetType().Name}: {ex.Message}\n{ex.StackTrace}");
                throw;
            }
            built++;
            var problem = Compare(source, dest);
            Assert.True(problem is null, $"{Case()}: {problem}");
            Directory.Delete(dest, recursive: true);
            File.Delete(file);
        }
        refusals.Report(output, format, built);
        // A third to a half of the mutated inputs build, by format: a test that only saw refusals would
        // check nothing, and an eighth leaves no room for chance to fail it.
        Assert.True(built > CasesPerFormat / 8, $"only {built} of {CasesPerFormat} mutated inputs were built");
    }
}
