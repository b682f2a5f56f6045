/// The CUDA C source of `zoo`'s own GPU kernels (compiled with NVRTC once per process). Each mirrors a CPU
/// kernel of the `Tensors` target and the PyTorch/mmcv operator it reproduces:
///
/// | kernel | CPU twin | reproduces |
/// | --- | --- | --- |
/// | `zoo_bias_act` | conv epilogue | conv bias + optional ReLU |
/// | `zoo_upsample_nearest_add` | FPN top-down | `F.interpolate(mode="nearest", size=...)` then `+` |
/// | `zoo_resize_bilinear` | `Resize` | `F.interpolate(mode="bilinear", align_corners=False)` |
/// | `zoo_group_norm` | `GroupNorm` | `nn.GroupNorm` (biased variance, eps inside the root) |
/// | `zoo_roi_align` | `RoIAlign` | mmcv `roi_align`, `aligned=True`, average, adaptive sampling |
/// | `zoo_argmax_channels` | semantic argmax | `torch.argmax(dim=0)` (first maximum wins) |
public enum CUDAKernels {
    /// The kernel names, as `extern "C"` entries of the PTX.
    public static let entryPoints = ["zoo_bias_act", "zoo_upsample_nearest_add", "zoo_resize_bilinear",
                                     "zoo_group_norm", "zoo_roi_align", "zoo_argmax_channels"]

    public static let source = #"""
    // zoo's CUDA kernels. float32 throughout; compiled with --fmad=false to round as the CPU path does.
    extern "C" {

    // x[c, i] = act(x[c, i] + bias[c]) over a [channels, plane] tensor.
    __global__ void zoo_bias_act(float* x, const float* bias, int channels, int plane, int relu) {
        long long n = (long long)channels * plane;
        for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
             i += (long long)gridDim.x * blockDim.x) {
            float v = x[i] + (bias ? bias[i / plane] : 0.0f);
            x[i] = (relu && v < 0.0f) ? 0.0f : v;
        }
    }

    // big[c, y, x] += small[c, sy, sx], with PyTorch's legacy nearest index sy = min(floor(y * sh / bh), sh - 1).
    __global__ void zoo_upsample_nearest_add(const float* small, float* big, int channels,
                                             int sh, int sw, int bh, int bw) {
        long long n = (long long)channels * bh * bw;
        float scaleH = (float)sh / (float)bh, scaleW = (float)sw / (float)bw;
        for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
             i += (long long)gridDim.x * blockDim.x) {
            int x = (int)(i % bw);
            int y = (int)((i / bw) % bh);
            long long c = i / ((long long)bh * bw);
            int sy = min((int)floorf(y * scaleH), sh - 1);
            int sx = min((int)floorf(x * scaleW), sw - 1);
            big[i] += small[(c * sh + sy) * sw + sx];
        }
    }

    // out[c, oh, ow] = bilinear(in[c, ih, iw]) with align_corners=False, as F.interpolate(size=...).
    __global__ void zoo_resize_bilinear(const float* in, float* out, int channels, int ih, int iw, int oh, int ow) {
        long long n = (long long)channels * oh * ow;
        float scaleH = (float)ih / (float)oh, scaleW = (float)iw / (float)ow;
        for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
             i += (long long)gridDim.x * blockDim.x) {
            int x = (int)(i % ow);
            int y = (int)((i / ow) % oh);
            long long c = i / ((long long)oh * ow);
            float sy = scaleH * (y + 0.5f) - 0.5f; if (sy < 0.0f) sy = 0.0f;
            float sx = scaleW * (x + 0.5f) - 0.5f; if (sx < 0.0f) sx = 0.0f;
            int y0 = (int)sy, x0 = (int)sx;
            int y1 = y0 + (y0 < ih - 1 ? 1 : 0), x1 = x0 + (x0 < iw - 1 ? 1 : 0);
            float ly = sy - y0, lx = sx - x0, hy = 1.0f - ly, hx = 1.0f - lx;
            const float* p = in + c * (long long)ih * iw;
            out[i] = hy * (hx * p[y0 * iw + x0] + lx * p[y0 * iw + x1])
                   + ly * (hx * p[y1 * iw + x0] + lx * p[y1 * iw + x1]);
        }
    }

    // In place over x[n, c, plane]; one block per (n, group); blockDim.x a power of two <= 1024.
    __global__ void zoo_group_norm(float* x, const float* gamma, const float* beta, int channels, int plane,
                                   int groups, float eps, int relu) {
        extern __shared__ double partial[];
        int group = blockIdx.x % groups;
        long long image = blockIdx.x / groups;
        int perGroup = channels / groups;
        long long count = (long long)perGroup * plane;
        float* base = x + (image * channels + (long long)group * perGroup) * plane;
        double sum = 0.0;
        for (long long i = threadIdx.x; i < count; i += blockDim.x) sum += base[i];
        partial[threadIdx.x] = sum;
        __syncthreads();
        for (int s = blockDim.x / 2; s > 0; s >>= 1) {
            if (threadIdx.x < s) partial[threadIdx.x] += partial[threadIdx.x + s];
            __syncthreads();
        }
        double mean = partial[0] / (double)count;
        __syncthreads();
        double squares = 0.0;
        for (long long i = threadIdx.x; i < count; i += blockDim.x) {
            double d = base[i] - mean;
            squares += d * d;
        }
        partial[threadIdx.x] = squares;
        __syncthreads();
        for (int s = blockDim.x / 2; s > 0; s >>= 1) {
            if (threadIdx.x < s) partial[threadIdx.x] += partial[threadIdx.x + s];
            __syncthreads();
        }
        float inv = (float)(1.0 / sqrt(partial[0] / (double)count + (double)eps));
        float m = (float)mean;
        for (long long i = threadIdx.x; i < count; i += blockDim.x) {
            int c = group * perGroup + (int)(i / plane);
            float v = (base[i] - m) * inv * gamma[c] + beta[c];
            base[i] = (relu && v < 0.0f) ? 0.0f : v;
        }
    }

    // mmcv's bilinear_interpolate: zero outside [-1, size], clamped at the border.
    __device__ float zoo_bilinear(const float* p, int height, int width, float y, float x) {
        if (y < -1.0f || y > (float)height || x < -1.0f || x > (float)width) return 0.0f;
        if (y <= 0.0f) y = 0.0f;
        if (x <= 0.0f) x = 0.0f;
        int yl = (int)y, xl = (int)x, yh, xh;
        if (yl >= height - 1) { yh = yl = height - 1; y = (float)yl; } else { yh = yl + 1; }
        if (xl >= width - 1) { xh = xl = width - 1; x = (float)xl; } else { xh = xl + 1; }
        float ly = y - yl, lx = x - xl, hy = 1.0f - ly, hx = 1.0f - lx;
        return hy * hx * p[yl * width + xl] + hy * lx * p[yl * width + xh]
             + ly * hx * p[yh * width + xl] + ly * lx * p[yh * width + xh];
    }

    // out[r, c, ph, pw] from one feature level feat[c, height, width]; rois[r] = (batch, x1, y1, x2, y2) in image
    // pixels; only the rows listed in `which` (count `n`) are computed, written at out[which[k]].
    __global__ void zoo_roi_align(const float* feat, int channels, int height, int width, const float* rois,
                                  const int* which, int n, float spatialScale, int pooledH, int pooledW,
                                  int samplingRatio, float* out) {
        long long total = (long long)n * channels * pooledH * pooledW;
        for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total;
             i += (long long)gridDim.x * blockDim.x) {
            int pw = (int)(i % pooledW);
            int ph = (int)((i / pooledW) % pooledH);
            int c = (int)((i / ((long long)pooledW * pooledH)) % channels);
            int k = (int)(i / ((long long)pooledW * pooledH * channels));
            int r = which[k];
            const float* roi = rois + 5 * (long long)r;
            float x1 = roi[1] * spatialScale - 0.5f, y1 = roi[2] * spatialScale - 0.5f;
            float x2 = roi[3] * spatialScale - 0.5f, y2 = roi[4] * spatialScale - 0.5f;
            float rw = x2 - x1, rh = y2 - y1;
            float binH = rh / (float)pooledH, binW = rw / (float)pooledW;
            int gridH = samplingRatio > 0 ? samplingRatio : (int)ceilf(rh / (float)pooledH);
            int gridW = samplingRatio > 0 ? samplingRatio : (int)ceilf(rw / (float)pooledW);
            const float* p = feat + (long long)c * height * width;
            float acc = 0.0f;
            for (int iy = 0; iy < gridH; iy++) {
                float y = y1 + ph * binH + (iy + 0.5f) * binH / (float)gridH;
                for (int ix = 0; ix < gridW; ix++) {
                    float x = x1 + pw * binW + (ix + 0.5f) * binW / (float)gridW;
                    acc += zoo_bilinear(p, height, width, y, x);
                }
            }
            int count = gridH * gridW; if (count < 1) count = 1;
            out[(((long long)r * channels + c) * pooledH + ph) * pooledW + pw] = acc / (float)count;
        }
    }

    // out[i] = the first channel holding the largest value at pixel i of in[channels, plane].
    __global__ void zoo_argmax_channels(const float* in, int* out, int channels, int plane) {
        for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < plane;
             i += (long long)gridDim.x * blockDim.x) {
            float best = in[i];
            int index = 0;
            for (int c = 1; c < channels; c++) {
                float v = in[(long long)c * plane + i];
                if (v > best || (v != v && best == best)) { best = v; index = c; }
            }
            out[i] = index;
        }
    }

    }  // extern "C"
    """#
}
