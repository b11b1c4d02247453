using System.Buffers;

namespace Grouper.Format;

/// <summary>
/// The parts of Thrift's compact protocol that copying and patching Parquet metadata needs: field and list
/// headers, zigzag varints, and skipping any value without knowing its schema.
/// </summary>
internal static class ThriftCompact
{
    public const byte Stop = 0, True = 1, False = 2, Byte = 3, I16 = 4, I32 = 5, I64 = 6, Double = 7, Binary = 8,
        List = 9, Set = 10, Map = 11, Struct = 12;

    public ref struct Reader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _pos;

        /// <summary>Bytes read so far.</summary>
        public readonly int Position => _pos;

        private byte NextByte()
        {
            if (_pos >= _data.Length) throw new InvalidDataException("Parquet metadata ends early.");
            return _data[_pos++];
        }

        private ulong ReadVarint()
        {
            ulong v = 0;
            for (int shift = 0; shift < 64; shift += 7)
            {
                byte b = NextByte();
                v |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80) return v;
            }
            throw new InvalidDataException("Parquet metadata has a varint that is too long.");
        }

        /// <summary>i16, i32 and i64 are all zigzag varints in the compact protocol.</summary>
        public long ReadI64()
        {
            ulong z = ReadVarint();
            return (long)(z >> 1) ^ -(long)(z & 1);
        }

        public bool ReadFieldHeader(ref short last, out short id, out byte type)
        {
            byte b = NextByte();
            type = (byte)(b & 0x0F);
            if (type == Stop)
            {
                // A stop is the byte 0; a field id delta beside it is damage (Parquet.Net reads on past it).
                if (b != Stop) throw new InvalidDataException("Parquet metadata has a damaged field header.");
                id = 0;
                return false;
            }
            int delta = b >> 4;
            id = delta != 0 ? (short)(last + delta) : checked((short)ReadI64());
            last = id;
            return true;
        }

        public void ReadListHeader(out byte elementType, out int count)
        {
            byte b = NextByte();
            elementType = (byte)(b & 0x0F);
            int n = b >> 4;
            count = n != 15 ? n : checked((int)ReadVarint());
        }

        /// <summary>An i8 value (a single byte in the compact protocol).</summary>
        public byte ReadByte() => NextByte();

        /// <summary>A binary value (a string's UTF-8), as it lies in the metadata.</summary>
        public ReadOnlySpan<byte> ReadBinary()
        {
            int n = checked((int)ReadVarint());
            int start = _pos;
            Advance(n);
            return _data.Slice(start, n);
        }

        /// <summary>Skips a field's value and returns its bytes (a field of type True/False has none).</summary>
        public ReadOnlySpan<byte> SkipAndSlice(byte type)
        {
            int start = _pos;
            Skip(type);
            return _data[start.._pos];
        }

        public void Skip(byte type) => Skip(type, inCollection: false, depth: 0);

        /// <summary>Skips one element of a list, set or map (a boolean there takes a byte of its own).</summary>
        public void SkipElement(byte type) => Skip(type, inCollection: true, depth: 0);

        private void Skip(byte type, bool inCollection, int depth)
        {
            if (depth > 64) throw new InvalidDataException("Parquet metadata is nested too deeply.");
            switch (type)
            {
                case True or False: if (inCollection) NextByte(); break; // in a field the type carries the value
                case Byte: NextByte(); break;
                case I16 or I32 or I64: ReadVarint(); break;
                case Double: Advance(8); break;
                case Binary: Advance(checked((int)ReadVarint())); break;
                case List or Set:
                    ReadListHeader(out byte elem, out int n);
                    for (int i = 0; i < n; i++) Skip(elem, true, depth + 1);
                    break;
                case Map:
                    int m = checked((int)ReadVarint());
                    if (m == 0) break;
                    byte kv = NextByte();
                    for (int i = 0; i < m; i++) { Skip((byte)(kv >> 4), true, depth + 1); Skip((byte)(kv & 0x0F), true, depth + 1); }
                    break;
                case Struct:
                    short last = 0;
                    while (ReadFieldHeader(ref last, out _, out byte t)) Skip(t, false, depth + 1);
                    break;
                default: throw new InvalidDataException($"Parquet metadata has an unknown Thrift type {type}.");
            }
        }

        private void Advance(int n)
        {
            if (n < 0 || _pos + n > _data.Length) throw new InvalidDataException("Parquet metadata ends early.");
            _pos += n;
        }
    }

    public ref struct Writer(IBufferWriter<byte> output)
    {
        private readonly IBufferWriter<byte> _out = output;

        public void WriteRaw(ReadOnlySpan<byte> bytes) => _out.Write(bytes);

        private void WriteByte(byte b)
        {
            _out.GetSpan(1)[0] = b;
            _out.Advance(1);
        }

        private void WriteVarint(ulong v)
        {
            var span = _out.GetSpan(10);
            int n = 0;
            while (v >= 0x80) { span[n++] = (byte)(v | 0x80); v >>= 7; }
            span[n++] = (byte)v;
            _out.Advance(n);
        }

        public void WriteI64(long v) => WriteVarint((ulong)((v << 1) ^ (v >> 63)));

        public void WriteBinary(ReadOnlySpan<byte> bytes)
        {
            WriteVarint((ulong)bytes.Length);
            _out.Write(bytes);
        }

        public void WriteFieldHeader(ref short last, short id, byte type)
        {
            int delta = id - last;
            if (delta is > 0 and <= 15) WriteByte((byte)(delta << 4 | type));
            else { WriteByte(type); WriteI64(id); }
            last = id;
        }

        public void WriteListHeader(byte elementType, int count)
        {
            if (count < 15) WriteByte((byte)(count << 4 | elementType));
            else { WriteByte((byte)(0xF0 | elementType)); WriteVarint((ulong)count); }
        }

        public void WriteStop() => WriteByte(Stop);
    }
}
