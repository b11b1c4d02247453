using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Grouper.Keys;
using Grouper.Sources;

namespace Grouper.Partitioning;

/// <summary>
/// The key is a capture of a regular expression over one column: the group named "key" if the pattern
/// has one, else group 1, else the whole match (e.g. the host of a URL: <c>^https?://([^/]+)</c>).
/// A value that does not match has no key (the null-key policy applies).
/// </summary>
public sealed class RegexKeySpec : KeySpec
{
    private readonly string _column;
    private readonly Regex _regex;
    private readonly int _group;

    public RegexKeySpec(string column, string pattern)
    {
        ArgumentException.ThrowIfNullOrEmpty(column);
        _column = column;
        try { _regex = new Regex(pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1)); }
        catch (ArgumentException ex) { throw new GrouperException(GrouperErrorKind.InvalidArgument, $"The key pattern '{pattern}' is not a valid regular expression: {ex.Message}", inner: ex); }
        _group = _regex.GroupNumberFromName("key") is var named and >= 0 ? named : _regex.GetGroupNumbers().Length > 1 ? 1 : 0;
    }

    public override string KindName => "regex";
    // The column as the input spells it once bound (see ColumnKeySpec).
    private string? _bound;
    private string Column => _bound ?? _column;

    public override IReadOnlyList<string> Columns => [Column];
    public override string Describe() => $"regex over {Column}: {_regex}";
    public override IReadOnlyDictionary<string, string>? Parameters => new Dictionary<string, string> { ["column"] = Column, ["pattern"] = _regex.ToString() };
    public override void Reset() => _bound = null;

    public override KeyExtractor Bind(RecordReader reader)
    {
        int o = reader.FindOrdinal(_column);
        if (o < 0 && !reader.IsSchemaFlexible)
            throw new GrouperException(GrouperErrorKind.MissingColumn, $"The key column '{_column}' is not in {reader.SourceName}.", reader.SourceName, reader.RowNumber);
        if (o >= 0) Interlocked.CompareExchange(ref _bound, reader.GetName(o), null);
        return new Extractor(this, o);
    }

    private sealed class Extractor(RegexKeySpec spec, int ordinal) : KeyExtractor
    {
        private readonly StringBuilder _value = new();

        public override void GetKey(RecordReader reader, StringBuilder sb)
        {
            sb.Clear();
            if (ordinal < 0) ordinal = reader.FindOrdinal(spec._column);
            _value.Clear();
            if (ordinal >= 0) KeyText.Append(reader, ordinal, _value, escape: false);
            Match m;
            try { m = spec._regex.Match(_value.ToString()); }
            catch (RegexMatchTimeoutException ex)
            {
                throw new GrouperException(GrouperErrorKind.InvalidKey, $"The key pattern took too long on {reader.Location}.", reader.SourceName, reader.RowNumber, ex);
            }
            var text = m.Success ? m.Groups[spec._group].Value : "";
            sb.Append(text.Length > 0 ? text : spec.NullPart(reader, $"'{spec._regex}' does not match column '{spec._column}'"));
        }
    }
}

/// <summary>
/// Hashes another key into N buckets: xxHash3-64 of the key's UTF-8 bytes with the seed, modulo N. The
/// bucket number is written with leading zeros to the width of N-1, so storage order is numeric order.
/// </summary>
public sealed class HashBucketKeySpec : KeySpec
{
    private readonly KeySpec _inner;

    public HashBucketKeySpec(KeySpec inner, int buckets, long seed = 0)
    {
        if (buckets < 1) throw new GrouperException(GrouperErrorKind.InvalidArgument, $"The bucket count must be at least 1 (it is {buckets}).");
        _inner = inner;
        Buckets = buckets;
        Seed = seed;
    }

    public int Buckets { get; }
    public long Seed { get; }
    public override string KindName => "hash-buckets";
    public override IReadOnlyList<string> Columns => _inner.Columns;
    public override string Describe() => $"{_inner.Describe()}, hashed into {Buckets} buckets (seed {Seed})";
    public override IReadOnlyDictionary<string, string>? Parameters => new Dictionary<string, string>
    {
        ["buckets"] = Buckets.ToString(CultureInfo.InvariantCulture), ["seed"] = Seed.ToString(CultureInfo.InvariantCulture), ["of"] = _inner.Describe(),
    };

    public override void Reset() => _inner.Reset();
    public override KeyExtractor Bind(RecordReader reader) => new Extractor(this, _inner.Bind(reader));

    private sealed class Extractor(HashBucketKeySpec spec, KeyExtractor inner) : KeyExtractor
    {
        public override void GetKey(RecordReader reader, StringBuilder sb)
        {
            inner.GetKey(reader, sb);
            ulong h = StableRandom.Hash(sb.ToString(), spec.Seed);
            sb.Clear();
            sb.Append(GroupNames.Format((int)(h % (ulong)spec.Buckets), spec.Buckets));
        }
    }
}

/// <summary>
/// GroupedNaturalId: groups by a natural id, then merges consecutive ids (in key order) into groups of
/// <see cref="IdsPerGroup"/> ids, named by their 0-based number written with ten digits. Streaming: the
/// merge happens as the sorted records are written.
/// </summary>
public sealed class GroupedNaturalIdKeySpec(KeySpec naturalId, int idsPerGroup) : KeySpec
{
    public int IdsPerGroup { get; } = idsPerGroup >= 1 ? idsPerGroup
        : throw new GrouperException(GrouperErrorKind.InvalidArgument, $"The number of ids per group must be at least 1 (it is {idsPerGroup}).");

    public override string KindName => "grouped-natural-id";
    public override IReadOnlyList<string> Columns => naturalId.Columns;
    public override int MergeKeys => IdsPerGroup;
    public override string Describe() => $"{naturalId.Describe()}, {IdsPerGroup} ids per group";
    public override IReadOnlyDictionary<string, string>? Parameters => new Dictionary<string, string>
    {
        ["idsPerGroup"] = IdsPerGroup.ToString(CultureInfo.InvariantCulture), ["id"] = naturalId.Describe(),
    };
    public override void Reset() => naturalId.Reset();
    public override KeyExtractor Bind(RecordReader reader) => naturalId.Bind(reader);
}

/// <summary>Names of numbered groups: the number with leading zeros, so ordinal order is numeric order.</summary>
public static class GroupNames
{
    public static string Format(long index, long count) =>
        index.ToString("D" + Math.Max(1, (count - 1).ToString(CultureInfo.InvariantCulture).Length), CultureInfo.InvariantCulture);

    /// <summary>Width used by GroupedNaturalId, whose group count is not known while writing.</summary>
    public const int MergedWidth = 10;
}
