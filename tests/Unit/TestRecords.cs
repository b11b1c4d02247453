using Grouper.Schema;
using Grouper.Sources;

namespace Grouper.Tests;

/// <summary>A reader over in-memory rows with declared columns, so writer tests do not depend on file parsers.</summary>
internal sealed class TestRecords(string name, IReadOnlyList<ColumnSpec> columns, IEnumerable<object?[]> rows, bool flexible = false) : RecordReader
{
    private readonly IEnumerator<object?[]> _rows = rows.GetEnumerator();
    private long _row;

    public override string SourceName => name;
    public override long RowNumber => _row;
    public override int FieldCount => columns.Count;
    public override bool IsSchemaFlexible => flexible;
    public override string GetName(int ordinal) => columns[ordinal].Name;
    public override ColumnSpec? GetDeclaredColumn(int ordinal) => flexible ? null : columns[ordinal];

    public override bool Read()
    {
        if (!_rows.MoveNext()) return false;
        _row++;
        return true;
    }

    private object? V(int o) => _rows.Current[o];

    public override ValueKind GetKind(int o) => V(o) is null ? ValueKind.Null : columns[o].Kind;
    public override string GetString(int o) => (string)V(o)!;
    public override long GetInt64(int o) => Convert.ToInt64(V(o));
    public override ulong GetUInt64(int o) => Convert.ToUInt64(V(o));
    public override double GetDouble(int o) => Convert.ToDouble(V(o));
    public override bool GetBoolean(int o) => (bool)V(o)!;
    public override decimal GetDecimal(int o) => (decimal)V(o)!;
    public override DateTime GetDateTime(int o) => (DateTime)V(o)!;
    public override DateOnly GetDate(int o) => (DateOnly)V(o)!;
    public override TimeSpan GetTime(int o) => (TimeSpan)V(o)!;
    public override ReadOnlySpan<byte> GetBytes(int o) => (byte[])V(o)!;

    public static ColumnSpec Col(string name, ValueKind kind, bool nullable = false) => new(name, kind, nullable);
}

/// <summary>A temporary folder deleted after the test.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir(string? name = null)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "grouper-tests", name ?? Guid.NewGuid().ToString("N"));
        if (Directory.Exists(Path)) Directory.Delete(Path, true);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }
    public string this[string relative] => System.IO.Path.Combine(Path, relative);

    /// <summary>Asserts that two folders hold the same files, byte for byte.</summary>
    public static void AssertSameFiles(string a, string b)
    {
        var files = Directory.GetFiles(a, "*", SearchOption.AllDirectories).Select(f => System.IO.Path.GetRelativePath(a, f)).Order().ToList();
        Xunit.Assert.Equal(files, Directory.GetFiles(b, "*", SearchOption.AllDirectories).Select(f => System.IO.Path.GetRelativePath(b, f)).Order());
        foreach (var f in files)
            Xunit.Assert.Equal(File.ReadAllBytes(System.IO.Path.Combine(a, f)), File.ReadAllBytes(System.IO.Path.Combine(b, f)));
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, true); } catch (IOException) { }
    }
}
