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
}
