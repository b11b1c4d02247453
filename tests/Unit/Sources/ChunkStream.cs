namespace Grouper.Tests.Sources;

/// <summary>Hands out the same number of bytes per read (the last read fewer), so that input is cut at known places.</summary>
internal sealed class ChunkStream(byte[] data, int chunk) : MemoryStream(data)
{
    public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, chunk));
    public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, chunk)]);
}
