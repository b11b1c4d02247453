using DuckDB.NET.Data;
using Xunit;

namespace Grouper.PowerShell.Tests;

/// <summary>What the cmdlets build and read back equals DuckDB's GROUP BY over the same input.</summary>
public sealed class IndependentEngineTests : IDisposable
{
    private readonly PowerShellHost _ps = new();

    public void Dispose() => _ps.Dispose();

    [Fact]
    public void Every_group_and_record_equals_DuckDB_group_by()
    {
        // JSON Lines with types, two key columns, unicode and separators in keys.
        var rng = new Random(11);
        var lines = new List<string>();
        string[] regions = ["north", "south|east", "wé\\st"];
        for (int i = 0; i < 3000; i++)
            lines.Add($"{{\"region\":\"{regions[rng.Next(3)].Replace("\\", "\\\\")}\",\"shop\":{rng.Next(20)},\"id\":{i},\"amount\":{rng.Next(1000) / 8.0}}}");
        File.WriteAllLines(_ps["sales.jsonl"], lines);
        _ps.Run("New-GroupedDataset sales.jsonl ds -GroupBy region, shop | Out-Null");

        using var db = new DuckDBConnection("Data Source=:memory:");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"""
            SELECT replace(replace(region, '\', '\\'), '|', '\|') || '|' || shop AS k, count(*), list(id ORDER BY id), sum(amount)
            FROM read_json('{_ps["sales.jsonl"].Replace("'", "''")}', format = 'newline_delimited') GROUP BY ALL ORDER BY k
            """;
        var duck = new List<(string Key, long Count, List<long> Ids, double Sum)>();
        using (var r = cmd.ExecuteReader())
            while (r.Read())
                duck.Add((r.GetString(0), r.GetInt64(1), ((System.Collections.IEnumerable)r.GetValue(2)).Cast<object>().Select(Convert.ToInt64).ToList(), r.GetDouble(3)));

        var groups = _ps.Run("Get-Group ds");
        Assert.Equal(duck.Select(d => d.Key).OrderBy(k => System.Text.Encoding.UTF8.GetBytes(k), new BytesComparer()),
            groups.Select(g => (string)g.Properties["Key"].Value));
        foreach (var d in duck)
        {
            var records = _ps.Run("Get-GroupRecord -LiteralPath ds -Key $key", new Dictionary<string, object?> { ["key"] = d.Key });
            Assert.Equal(d.Count, records.Count);
            Assert.Equal(d.Ids, records.Select(r => (long)r.Properties["id"].Value)); // input order kept
            Assert.Equal(d.Sum, records.Sum(r => (double)r.Properties["amount"].Value), 6);
        }
    }

    private sealed class BytesComparer : IComparer<byte[]>
    {
        public int Compare(byte[]? a, byte[]? b) => a.AsSpan().SequenceCompareTo(b);
    }
}
