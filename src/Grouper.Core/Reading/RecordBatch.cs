using System.Text;
using Grouper.Format;

namespace Grouper.Reading;

/// <summary>
/// A run of one group's records inside one row group, with the columns that were asked for decoded.
/// Column numbers are positions in the projection given to <see cref="GroupedDataset.ReadBatches"/>
/// (0 for its first column). Valid until the next batch is asked for: copy what you keep.
/// </summary>
public sealed class RecordBatch
{
    private readonly int[] _wanted;
    private ShardColumn?[] _columns = [];
    private int _start;

    internal RecordBatch(int[] wanted) => _wanted = wanted;

    internal int[] Wanted => _wanted;

    internal void Set(ShardColumn?[] columns, int start, int count)
    {
        _columns = columns;
        _start = start;
        Count = count;
    }

    // The group: its key as a string (ReadBatches has one) or as UTF-8 in the index block a scan reads
    // (ScanBatches makes the string only when asked).
    private string? _key;
    private byte[] _keyBytes = [];
    private int _keyStart, _keyLength;

    internal void SetGroup(GroupInfo group, long firstRecord)
    {
        _key = group.Key;
        _keyLength = -1;
        GroupOrdinal = group.Ordinal;
        GroupRecordCount = group.RecordCount;
        FirstRecordInGroup = firstRecord;
    }

    internal void SetGroup(byte[] keyBytes, int keyStart, int keyLength, long ordinal, long recordCount, long firstRecord)
    {
        if (ordinal != GroupOrdinal) _key = null;
        _keyBytes = keyBytes;
        _keyStart = keyStart;
        _keyLength = keyLength;
        GroupOrdinal = ordinal;
        GroupRecordCount = recordCount;
        FirstRecordInGroup = firstRecord;
    }

    /// <summary>The group's position in storage order (0-based).</summary>
    public long GroupOrdinal { get; private set; } = -1;

    /// <summary>The group's key (made once per group when asked for).</summary>
    public string GroupKey => _key ??= Encoding.UTF8.GetString(_keyBytes, _keyStart, _keyLength);

    /// <summary>The group's key as UTF-8, without making a string: valid as long as the batch.</summary>
    public ReadOnlySpan<byte> GroupKeyUtf8
    {
        get
        {
            if (_keyLength < 0)
            {
                _keyBytes = Encoding.UTF8.GetBytes(_key!);
                (_keyStart, _keyLength) = (0, _keyBytes.Length);
            }
            return _keyBytes.AsSpan(_keyStart, _keyLength);
        }
    }

    /// <summary>Records in the whole group (the batch holds <see cref="Count"/> of them).</summary>
    public long GroupRecordCount { get; private set; }

    /// <summary>The position in its group (0-based) of the batch's first record; 0 for a group's first batch.</summary>
    public long FirstRecordInGroup { get; private set; }

    /// <summary>True for a group's first batch: a scan counts groups, or starts a new one, here.</summary>
    public bool IsGroupStart => FirstRecordInGroup == 0;

    /// <summary>Records in the batch.</summary>
    public int Count { get; private set; }

    /// <summary>Columns in the batch (the projection's length).</summary>
    public int ColumnCount => _wanted.Length;

    /// <summary>The position in <see cref="GroupedDataset.Columns"/> of the batch's column <paramref name="column"/>.</summary>
    public int DatasetColumn(int column) => _wanted[column];

    private ShardColumn Column(int column) => _columns[_wanted[column]]!;

    private int Row(int row) => (uint)row < (uint)Count ? _start + row : throw new ArgumentOutOfRangeException(nameof(row));

    /// <summary>True when the value is null.</summary>
    public bool IsNull(int column, int row) => Column(column).IsNull(Row(row));

    /// <summary>The value as .NET object (a new string for text, boxed numbers), or null.</summary>
    public object? GetValue(int column, int row) => Column(column).Get(Row(row));

    /// <summary>A text value as a string, or null.</summary>
    public string? GetString(int column, int row) => (string?)Column(column).Get(Row(row));

    /// <summary>A text value's characters without making a string (empty for null): valid as long as the batch.</summary>
    public ReadOnlySpan<char> GetChars(int column, int row) => Column(column).GetChars(Row(row));

    /// <summary>
    /// A text value's UTF-8 without making a string (empty for null): valid as long as the batch. Grouper's
    /// shards store text as UTF-8, so this is the cheapest way to a value (no decoding at all).
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(Util.Hot.Path)]
    public ReadOnlySpan<byte> GetUtf8(int column, int row) => Column(column).GetUtf8(Row(row));
}
