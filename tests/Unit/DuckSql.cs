using DuckDB.NET.Data;

namespace Grouper.Tests;

/// <summary>Runs SQL in a DuckDB of its own: how tests write the Parquet files other engines write.</summary>
internal static class DuckSql
{
    public static void Run(string sql)
    {
        using var db = new DuckDBConnection("Data Source=:memory:");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    /// <summary>The first row a query gives (it must give one).</summary>
    public static object?[] Row(string sql)
    {
        using var db = new DuckDBConnection("Data Source=:memory:");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        using var r = cmd.ExecuteReader();
        if (!r.Read()) throw new InvalidOperationException($"No row from: {sql}");
        return Enumerable.Range(0, r.FieldCount).Select(i => r.IsDBNull(i) ? null : r.GetValue(i)).ToArray();
    }
}
