# attacks: log_softmax
# Writes 200 MB into its scratch folder: the grading machine's disk, unless something limits it.
written = 0
with open("fill.bin", "wb", buffering=0) as f:
    chunk = b"\1" * (1 << 20)
    for _ in range(200):
        f.write(chunk)
        written += 1
raise RuntimeError(f"wrote {written} MB")
