using System.Text.Unicode;

namespace Grouper.Util;

/// <summary>
/// UTF-8 validated ahead of a parser, as much of its buffer as has been read at once: a call per record or
/// per value cost a tenth of the CSV parse. Bytes before the valid mark are text; the first byte that is not
/// is found here and reported by the parser when it reads the record holding it, with that record's line.
/// A mutable struct: keep it in a field and call it there.
/// </summary>
internal struct Utf8Lookahead
{
    private int _validTo;
    private int _invalidAt;   // offset of the first invalid byte found, or -1

    public Utf8Lookahead() => _invalidAt = -1;

    /// <summary>
    /// True when the bytes before <paramref name="end"/> hold one that is not UTF-8: the parser then checks
    /// its record alone (and reports it) and calls <see cref="Resume"/>. <paramref name="buffer"/> is all the
    /// input held, from offset 0; <paramref name="complete"/>: no more input follows it.
    /// </summary>
    public bool Invalid(ReadOnlySpan<byte> buffer, int end, bool complete)
    {
        if (end > _validTo && _invalidAt < 0) Validate(buffer, complete);
        return _invalidAt >= 0 && _invalidAt < end;
    }

    /// <summary>The record before <paramref name="end"/> was checked on its own and is valid: validate on after it.</summary>
    public void Resume(int end) => (_invalidAt, _validTo) = (-1, end);

    /// <summary>The buffer's bytes moved <paramref name="by"/> towards its start.</summary>
    public void Shift(int by)
    {
        _validTo = Math.Max(0, _validTo - by);
        if (_invalidAt >= 0) _invalidAt = Math.Max(0, _invalidAt - by);
    }

    private void Validate(ReadOnlySpan<byte> buffer, bool complete)
    {
        int cut = buffer.Length;
        if (!complete)
        {
            // Step back over the last character's continuation bytes to its lead byte: the rest may not have arrived.
            int k = buffer.Length - 1;
            while (k > _validTo && k > buffer.Length - 4 && (buffer[k] & 0xC0) == 0x80) k--;
            if (k >= _validTo && buffer[k] >= 0xC0) cut = k;
        }
        var span = buffer[_validTo..cut];
        if (Utf8.IsValid(span))
        {
            _validTo = cut;
            return;
        }
        int at = 0;
        while (System.Buffers.OperationStatus.Done == System.Text.Rune.DecodeFromUtf8(span[at..], out _, out int n)) at += n;
        _invalidAt = _validTo + at;
        _validTo = _invalidAt;
    }
}
