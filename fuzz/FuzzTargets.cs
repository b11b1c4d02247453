using Grouper.Format;
using Grouper.Sources;

namespace Grouper.Fuzz;

/// <summary>
/// Fuzz targets over every reader of untrusted bytes: the input formats (CSV, TSV, JSON Lines, Parquet)
/// and Grouper's own index and manifest. The contract: any input either reads or fails with a
/// GrouperException; anything else (a crash, another exception) is a bug. Shared by the SharpFuzz
/// program (fuzz/Grouper.Fuzz) and the bounded fuzz test that CI runs.
/// </summary>
public static class FuzzTargets
{
    // "nested": Parquet with list, struct and map columns, whose values are assembled from their levels.
    // "encodings": Parquet with pages of version 2 and the encodings Grouper decodes itself (DELTA_BINARY_PACKED,
    // DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY, BYTE_STREAM_SPLIT, RLE booleans), uncompressed so that
    // mutations reach the encoded values.
    public static readonly string[] Names = ["csv", "tsv", "jsonl", "parquet", "nested", "encodings", "index", "manifest"];

    public static void Run(string target, ReadOnlySpan<byte> data)
    {
        var dir = Path.Combine(Path.GetTempPath(), "grouper-fuzz-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        try
        {
            switch (target)
            {
                case "csv" or "tsv" or "jsonl" or "parquet" or "nested" or "encodings":
                    var file = Path.Combine(dir, "input." + (target is "nested" or "encodings" ? "parquet" : target));
                    File.WriteAllBytes(file, data.ToArray());
                    using (var r = SourceFiles.Open(file))
                    {
                        int n = 0;
                        while (r.Read() && n++ < 100_000)
                            for (int i = 0; i < r.FieldCount; i++) r.GetValue(i);
                    }
                    break;
                case "index":
                    var index = Path.Combine(dir, "index.gidx");
                    File.WriteAllBytes(index, data.ToArray());
                    using (var ix = new GroupIndexReader(index))
                    {
                        foreach (var g in ix.Enumerate().Take(100_000)) ix.Find(g.Key);
                        ix.Find("");
                        ix.GetByOrdinal(ix.GroupCount / 2);
                        // The scan's walk: entries without objects, keys left in the block.
                        byte[] block = [];
                        var entries = Array.Empty<GroupIndexReader.Entry>();
                        for (int b = 0; b < ix.BlockCount; b++)
                        {
                            int n = ix.ReadBlockEntries(b, ref block, ref entries);
                            for (int i = 0; i < n; i++) _ = block.AsSpan(entries[i].KeyStart, entries[i].KeyLength);
                        }
                    }
                    break;
                case "manifest":
                    var m = DatasetManifest.Parse(data.ToArray(), "manifest.json");
                    _ = m.Columns;
                    break;
                default:
                    throw new ArgumentException($"Unknown fuzz target '{target}'.");
            }
        }
        catch (GrouperException)
        {
            // A clear refusal is the right answer to bad bytes.
        }
    }
}
