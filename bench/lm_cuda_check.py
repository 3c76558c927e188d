"""CUDA check of the lm codec (run on a GPU machine): round trip, determinism, CPU vs CUDA
code length and throughput, and refusal of a cross-device decode. Output of the last run:
bench/results/lm_cuda_check.txt (NVIDIA H100, torch 2.11.0+cu130)."""
import lzma
import sys
import time
sys.path.insert(0, '.')
import torch
from kcomp.lm_coder import LMCompressor
print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')
prose = open('kcomp/lm_coder/README.md','rb').read()[:16384]
code = open('kcomp/engine.py','rb').read()[:16384]
rows = []
for name, data in [('prose(README)', prose), ('python(engine.py)', code)]:
    for dev in ('cuda', 'cpu'):
        c = LMCompressor(device=dev)
        t = time.perf_counter(); s = c.compress(data); te = time.perf_counter() - t
        t = time.perf_counter(); out = c.decompress(s); td = time.perf_counter() - t
        ok = out == data
        again = c.compress(data) == s
        est = c.size_bits(data)
        rows.append(dict(data=name, device=dev, bytes=len(data), coded_bits_per_byte=8*len(s)/len(data), size_bits_per_byte=est/len(data), roundtrip=ok, deterministic=again, enc_Bps=len(data)/te, dec_Bps=len(data)/td))
        print(rows[-1], flush=True)
    print('xz bpb', 8*len(lzma.compress(data, preset=9))/len(data))
c_gpu, c_cpu = LMCompressor(device='cuda'), LMCompressor(device='cpu')
s = c_gpu.compress(prose[:2000])
try:
    c_cpu.decompress(s); print('CPU decoded a CUDA stream?!')
except Exception as e:
    print('cross-device refused:', type(e).__name__, str(e)[:200])
o = LMCompressor(online=True, device='cuda'); d = prose[:8192]
t=time.perf_counter(); s=o.compress(d); print('online cuda roundtrip', o.decompress(s)==d, 'bpb', 8*len(s)/len(d), 's', time.perf_counter()-t)
