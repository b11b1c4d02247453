namespace Grouper.Util;

/// <summary>
/// A write-only stream that hashes (xxHash3, 64-bit) what passes through it, so a file's checksum
/// costs no second read.
/// </summary>
internal sealed class HashingWriteStream(Stream inner) : Stream
{
    private readonly Xxh3 _hash = new();
    private long _length;

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => _length;
    public override long Position { get => _length; set => throw new NotSupportedException(); }

    /// <summary>The checksum of everything written, as 16 lowercase hex digits.</summary>
    public string Checksum => _hash.Hex;

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        _hash.Append(buffer);
        _length += buffer.Length;
        inner.WriteInPieces(buffer);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken ct)
    {
        Write(buffer.AsSpan(offset, count));
        return Task.CompletedTask;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct = default)
    {
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override void WriteByte(byte value) => Write([value]);
    public override void Flush() => inner.Flush();
    public override Task FlushAsync(CancellationToken ct) => inner.FlushAsync(ct);
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
            _hash.Dispose();
        }
        base.Dispose(disposing);
    }
}

internal static class FileChecksum
{
    /// <summary>xxHash3 (64-bit) of a file, as 16 lowercase hex digits.</summary>
    public static string Compute(string path)
    {
        using var h = new Xxh3();
        using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            int n;
            while ((n = f.Read(buffer, 0, buffer.Length)) > 0) h.Append(buffer.AsSpan(0, n));
        }
        finally { System.Buffers.ArrayPool<byte>.Shared.Return(buffer); }
        return h.Hex;
    }
}
