using Grouper.Util;
using System.Runtime.CompilerServices;

namespace Grouper.Writer;

/// <summary>
/// A sorted stream of (key, encoded row) pairs: the sort buffer, a spill run, or a merge of runs.
/// The spans are valid until the next <see cref="MoveNext"/>.
/// </summary>
/// <remarks>
/// A class with the current record's place in fields, not an interface with span properties: the merge
/// compares the current keys of several streams for each record it emits, and through an interface each
/// key was a call through a dispatch stub. With the fields, a stream's one virtual call is its
/// <see cref="MoveNext"/>, which is compiled fully optimised from the start (<see cref="Util.Hot"/>).
/// </remarks>
internal abstract class RecordStream : IDisposable
{
    // Set by MoveNext: where the current record's key and row lie.
    private protected byte[] KeyArray = [], RowArray = [];
    private protected int KeyStart, KeyLength, RowStart, RowLength;

    /// <summary>
    /// True when the current record's key is known, without comparing, to be the one of the record before it
    /// in this stream (a spill run marks such keys); false says nothing.
    /// </summary>
    public bool KeyRepeats { get; private protected set; }

    public abstract bool MoveNext();

    public ReadOnlySpan<byte> Key
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => new(KeyArray, KeyStart, KeyLength);
    }

    public ReadOnlySpan<byte> Row
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => new(RowArray, RowStart, RowLength);
    }

    /// <summary>Takes the current record's place from <paramref name="other"/> (the merge's winner).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private protected void CurrentFrom(RecordStream other)
    {
        KeyArray = other.KeyArray; KeyStart = other.KeyStart; KeyLength = other.KeyLength;
        RowArray = other.RowArray; RowStart = other.RowStart; RowLength = other.RowLength;
    }

    /// <summary>Compares the current keys of two streams, byte by byte.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private protected static int CompareKeys(RecordStream a, RecordStream b) => Bytes.Compare(a.Key, b.Key);

    public virtual void Dispose() { }
}
