using System.Runtime.CompilerServices;

namespace Grouper.Util;

/// <summary>LEB128 variable-length integers, the length prefix of every spill and index field.</summary>
internal static class VarInt
{
    public const int MaxLength = 10;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Write(Span<byte> dest, ulong value)
    {
        int i = 0;
        while (value >= 0x80)
        {
            dest[i++] = (byte)(value | 0x80);
            value >>= 7;
        }
        dest[i++] = (byte)value;
        return i;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Read(ReadOnlySpan<byte> src, ref int pos)
    {
        ulong result = 0;
        int shift = 0;
        while (true)
        {
            if (shift > 63) throw new InvalidDataException("Malformed variable-length integer.");
            byte b = src[pos++];
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return result;
            shift += 7;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong ZigZag(long v) => (ulong)((v << 1) ^ (v >> 63));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long UnZigZag(ulong v) => (long)(v >> 1) ^ -(long)(v & 1);

    public static int Size(ulong value)
    {
        int n = 1;
        while (value >= 0x80) { value >>= 7; n++; }
        return n;
    }
}

/// <summary>A growable byte buffer over pooled arrays, for building one encoded row or block.</summary>
internal sealed class ByteBuffer
{
    private byte[] _data;
    public int Length;

    public ByteBuffer(int capacity = 4096) => _data = new byte[capacity];

    public Span<byte> Span => _data.AsSpan(0, Length);
    public ReadOnlyMemory<byte> Memory => _data.AsMemory(0, Length);
    public byte[] RawArray => _data;

    public void Clear() => Length = 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<byte> GetSpan(int size)
    {
        if (Length + size > _data.Length) Grow(size);
        return _data.AsSpan(Length);
    }

    private void Grow(int size)
    {
        long want = Math.Max((long)_data.Length * 2, (long)Length + size);
        if (want > Array.MaxLength) want = Array.MaxLength;
        if (want < Length + size) throw new InvalidOperationException("A single record exceeds the largest buffer .NET allows (2 GB).");
        Array.Resize(ref _data, (int)want);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteByte(byte b)
    {
        if (Length == _data.Length) Grow(1);
        _data[Length++] = b;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteVarInt(ulong v) => Length += VarInt.Write(GetSpan(VarInt.MaxLength), v);

    public void Write(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(GetSpan(bytes.Length));
        Length += bytes.Length;
    }

    /// <summary>Shrinks back after an unusually large record so one huge field doesn't pin memory for the rest of the build.</summary>
    public void TrimTo(int capacity)
    {
        if (_data.Length > capacity && Length <= capacity) Array.Resize(ref _data, capacity);
    }
}
