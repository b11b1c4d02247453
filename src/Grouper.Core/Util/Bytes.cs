using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Grouper.Util;

/// <summary>
/// Ordinal comparison, equality and common prefix of short byte strings (keys, a column's values, field
/// names), inlined into the loops that compare one per record. CoreLib's <c>SequenceCompareTo</c> (and
/// <c>SequenceEqual</c>, <c>CommonPrefixLength</c>) is a call into code that climbs the runtime's tiers like
/// any other: a 1 GB build's merge ran its profiling tier for half of the writing phase, whose block
/// counters call into the runtime on every pass (131 of the merging thread's 1,758 samples). Here the
/// comparison is part of the marked loop (<see cref="Hot"/>), compiled fully optimised.
/// </summary>
internal static class Bytes
{
    /// <summary>Negative, zero or positive as <paramref name="a"/> sorts before, with or after <paramref name="b"/> (unsigned bytes, a prefix first).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Compare(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        int i = CommonPrefix(a, b);
        return i < a.Length && i < b.Length ? Unsafe.Add(ref MemoryMarshal.GetReference(a), i) - Unsafe.Add(ref MemoryMarshal.GetReference(b), i) : a.Length - b.Length;
    }

    /// <summary>How many bytes <paramref name="a"/> and <paramref name="b"/> have in common from the start.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int CommonPrefix(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        int n = Math.Min(a.Length, b.Length);
        ref byte x = ref MemoryMarshal.GetReference(a);
        ref byte y = ref MemoryMarshal.GetReference(b);
        int i = 0;
        for (; i <= n - 8; i += 8)
        {
            ulong d = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref x, i)) ^ Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref y, i));
            // The first differing byte is the lowest differing one in memory order.
            if (d != 0) return i + (BitConverter.IsLittleEndian ? BitOperations.TrailingZeroCount(d) : BitOperations.LeadingZeroCount(d)) / 8;
        }
        for (; i < n; i++)
            if (Unsafe.Add(ref x, i) != Unsafe.Add(ref y, i)) return i;
        return n;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Equal(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        if (a.Length != b.Length) return false;
        ref byte x = ref MemoryMarshal.GetReference(a);
        ref byte y = ref MemoryMarshal.GetReference(b);
        int i = 0;
        for (; i <= a.Length - 8; i += 8)
            if (Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref x, i)) != Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref y, i))) return false;
        for (; i < a.Length; i++)
            if (Unsafe.Add(ref x, i) != Unsafe.Add(ref y, i)) return false;
        return true;
    }

    /// <summary>
    /// Copies <paramref name="source"/> to the start of <paramref name="destination"/> (which must not overlap it),
    /// inlined into the caller: up to 256 bytes in 16-byte pieces, the last one ending where the value does
    /// (overlapping the one before), shorter values with two loads and two stores. A record's values are that
    /// short, and CoreLib's copy, a call from each of them, was run in its instrumented tier for much of a build
    /// (the runtime's profile-guided optimisation rejits hot ReadyToRun code with counters first).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Copy(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        int n = source.Length;
        if (n > 256 || n > destination.Length)
        {
            source.CopyTo(destination); // throws when the destination is too short
            return;
        }
        ref byte s = ref MemoryMarshal.GetReference(source);
        ref byte d = ref MemoryMarshal.GetReference(destination);
        if (n >= 16)
        {
            for (int i = 0; i < n - 16; i += 16)
                Unsafe.WriteUnaligned(ref Unsafe.Add(ref d, i), Unsafe.ReadUnaligned<Vector128<byte>>(ref Unsafe.Add(ref s, i)));
            Unsafe.WriteUnaligned(ref Unsafe.Add(ref d, n - 16), Unsafe.ReadUnaligned<Vector128<byte>>(ref Unsafe.Add(ref s, n - 16)));
        }
        else if (n >= 8)
        {
            ulong a = Unsafe.ReadUnaligned<ulong>(ref s), b = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref s, n - 8));
            Unsafe.WriteUnaligned(ref d, a);
            Unsafe.WriteUnaligned(ref Unsafe.Add(ref d, n - 8), b);
        }
        else if (n >= 4)
        {
            uint a = Unsafe.ReadUnaligned<uint>(ref s), b = Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref s, n - 4));
            Unsafe.WriteUnaligned(ref d, a);
            Unsafe.WriteUnaligned(ref Unsafe.Add(ref d, n - 4), b);
        }
        else if (n > 0)
        {
            // 1-3 bytes: the first, the middle and the last (some the same).
            byte a = s, b = Unsafe.Add(ref s, n >> 1), c = Unsafe.Add(ref s, n - 1);
            d = a;
            Unsafe.Add(ref d, n >> 1) = b;
            Unsafe.Add(ref d, n - 1) = c;
        }
    }
}
