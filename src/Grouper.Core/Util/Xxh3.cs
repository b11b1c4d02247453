using System.Globalization;
using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace Grouper.Util;

/// <summary>
/// xxHash3 (64-bit, seed 0) of a stream of bytes: the shards' and the index's checksums. On Linux the
/// system's libxxhash (0.8 or later, where XXH3's output is final) when it is installed, elsewhere
/// System.IO.Hashing: the same values. System.IO.Hashing's vector code cannot be precompiled (ReadyToRun
/// leaves out methods that depend on the machine's vector width) and a build calls it little until its
/// writing phase, so it ran at the runtime's first tier through most of a 1 GB build's writing phase (6% of
/// the merging thread's samples, for hashing 156 MB); libxxhash hashes that in a few milliseconds.
/// </summary>
internal sealed unsafe class Xxh3 : IDisposable
{
    private static readonly Native? s_native = Native.TryLoad();

    private readonly XxHash3? _managed;
    private void* _state;

    /// <summary>The library the checksums are computed by on this machine (the bench reports it).</summary>
    public static string Implementation => s_native?.Name ?? "System.IO.Hashing";

    public Xxh3() : this(useNative: true) { }

    /// <summary>useNative: false computes with System.IO.Hashing even where libxxhash is (tests compare the two).</summary>
    internal Xxh3(bool useNative)
    {
        if (useNative && s_native is { } n && n.Create() is var state && state != null)
        {
            _state = state;
            if (n.Reset(_state) != 0) throw new InvalidOperationException("libxxhash could not start a hash.");
        }
        else _managed = new XxHash3();
    }

    internal bool IsNative => _state != null;

    public void Append(ReadOnlySpan<byte> data)
    {
        if (_managed is not null)
        {
            _managed.Append(data);
            return;
        }
        ObjectDisposedException.ThrowIf(_state == null, this);
        fixed (byte* p = data)
            if (s_native!.Update(_state, p, (nuint)data.Length) != 0) throw new InvalidOperationException("libxxhash could not hash a block.");
    }

    public ulong Digest()
    {
        if (_managed is not null) return _managed.GetCurrentHashAsUInt64();
        ObjectDisposedException.ThrowIf(_state == null, this);
        return s_native!.Digest(_state);
    }

    /// <summary>The hash as 16 lowercase hex digits, as the manifest records it.</summary>
    public string Hex => Digest().ToString("x16", CultureInfo.InvariantCulture);

    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    ~Xxh3() => Free();

    private void Free()
    {
        if (_state == null) return;
        s_native!.FreeState(_state);
        _state = null;
    }

    private sealed class Native
    {
        // XXH3's streaming API, stable since xxHash 0.8.0 (before it, XXH3's output could change between versions).
        public readonly delegate* unmanaged<void*> Create;
        public readonly delegate* unmanaged<void*, int> FreeState;
        public readonly delegate* unmanaged<void*, int> Reset;
        public readonly delegate* unmanaged<void*, void*, nuint, int> Update;
        public readonly delegate* unmanaged<void*, ulong> Digest;
        public readonly string Name;

        private Native(nint create, nint free, nint reset, nint update, nint digest, string name)
        {
            Create = (delegate* unmanaged<void*>)create;
            FreeState = (delegate* unmanaged<void*, int>)free;
            Reset = (delegate* unmanaged<void*, int>)reset;
            Update = (delegate* unmanaged<void*, void*, nuint, int>)update;
            Digest = (delegate* unmanaged<void*, ulong>)digest;
            Name = name;
        }

        public static Native? TryLoad()
        {
            // Linux only, by its soname from the system's library path, as liblz4 (Writer/SpillCodec.cs).
            const string Soname = "libxxhash.so.0";
            if (!OperatingSystem.IsLinux() || !NativeLibrary.TryLoad(Soname, out var lib)) return null;
            if (NativeLibrary.TryGetExport(lib, "XXH_versionNumber", out var version)
                && ((delegate* unmanaged<uint>)version)() is var v && v >= 800
                && NativeLibrary.TryGetExport(lib, "XXH3_createState", out var create)
                && NativeLibrary.TryGetExport(lib, "XXH3_freeState", out var free)
                && NativeLibrary.TryGetExport(lib, "XXH3_64bits_reset", out var reset)
                && NativeLibrary.TryGetExport(lib, "XXH3_64bits_update", out var update)
                && NativeLibrary.TryGetExport(lib, "XXH3_64bits_digest", out var digest))
                return new Native(create, free, reset, update, digest, $"{Soname} {v / 10000}.{v / 100 % 100}.{v % 100}");
            return null;
        }
    }
}
