/*
 * dlnflow.c -- compiled kernels of dlnsys (loaded by dlnsys/compiled.py through ctypes).
 *
 * Written for dlnsys; no outside code. Built by dlnsys.compiled with the system C compiler
 * (gcc -O3 -march=native by default) into a per-user cache; nothing here touches Python.
 *
 *   dln_net_new / dln_net_free   a network: dims, sigma, gamma, optional mask, workspaces
 *   dln_rhs, dln_rhs_batch       the block-form vector field (9)/(25), as dlnsys.flow.vector_field
 *   dln_jac                      its dense analytic Jacobian (= -Hessian, as dlnsys.flow.jacobian)
 *   dln_loss, dln_loss_batch     the loss (5)/(24)
 *   dln_conserved_drift          drift of the conservation laws (Prop. 6) along a trajectory
 *   bdf_new / bdf_run / ...      a variable-order (1..5), variable-step BDF/NDF integrator with
 *                                Jacobian and LU reuse, for one state or a stack of B states that
 *                                share the steps (block-diagonal Newton; error norm = max over the
 *                                members of each member's RMS norm).
 *
 * Conventions (same as dlnsys.network): x = concat(vec(W_1) ... vec(W_h)), W_k row-major with
 * shape (d_k, d_{k-1}); in 0-based code W[k] has shape (dims[k+1], dims[k]).
 *
 * The integrator is the quasi-constant step-size backward-difference form of the numerical
 * differentiation formulas (Shampine and Reichelt, "The MATLAB ODE Suite", SIAM J. Sci.
 * Comput. 18, 1997): modified divided differences D[0..k+2], step changes by the
 * interpolation matrices R(rho) U, error constant kappa_k gamma_k + 1/(k+1), order chosen from
 * the error estimates of orders k-1, k, k+1 after k+1 steps of equal size.
 * Where the time goes on the Section 6.1 network (198 weights): LU factorizations of I - c J
 * and the triangular solves of the Newton iterations, not the right-hand side (~1.5 us). Hence:
 *  - the Newton (chord) iteration keeps the LU while c = h / alpha_k stays within a factor
 *    C_RATIO_MAX of the value it was factorized for, scaling each correction by 2 / (1 + c/c_lu)
 *    (the chord step is off by c/c_lu in stiff components and by 1 in the others; the scaling
 *    balances the two), and keeps J for JAC_MAX_AGE steps or until the iteration fails;
 *  - the LU is single precision, column-major and blocked (see lu_factor): half the memory
 *    traffic and twice the SIMD width; residuals, corrections and the state stay double;
 *  - the Newton iteration stops on the SUNDIALS-style test (correction x estimated contraction
 *    rate, carried over between steps, below NEWTON_TOL / error constant): ~1.6 right-hand
 *    sides per step instead of ~2.7 with a fixed tight tolerance.
 * Measured on p1-small of benchmarks/run.py (scale 5e-2, t = 400, rtol 1e-8): 2,036 steps, 3,361
 * right-hand sides, 73 LUs, 18 Jacobians, ~45 ms of C, of which ~40% triangular solves and ~30%
 * LUs (perf); the parameters below were chosen by a grid search over both p1 problems (cost and
 * error against a DOP853 rtol 1e-12 reference).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ORDER 5
#ifndef NEWTON_MAXITER
#define NEWTON_MAXITER 3
#endif
#define MIN_FACTOR 0.2
#define MAX_FACTOR 10.0
#ifndef HOLD_FACTOR
#define HOLD_FACTOR 1.2      /* a proposed step increase below this is not taken (saves an LU) */
#endif
#ifndef C_RATIO_MAX
#define C_RATIO_MAX 1.8      /* refactorize when c / c_lu leaves [1 / C_RATIO_MAX, C_RATIO_MAX] */
#endif
#ifndef LU_MAX_AGE
#define LU_MAX_AGE 1000      /* ... or when the LU is this many steps old */
#endif
#ifndef JAC_MAX_AGE
#define JAC_MAX_AGE 200      /* re-evaluate J at a refactorization when it is this many steps old */
#endif
#ifndef EARLY_SHRINK
#define EARLY_SHRINK 10.0    /* shrink h before k + 1 equal steps when the error estimate exceeds this
                                (10: never; kept for experiments) */
#endif
#ifndef NEWTON_TOL
#define NEWTON_TOL 0.01
#endif

/* ------------------------------------------------------------------ dense kernels */

/* C (m x q) = A (m x p) @ B (p x q) */
static void mm(int m, int p, int q, const double *A, const double *B, double *C)
{
    for (int i = 0; i < m; i++) {
        double *c = C + (size_t)i * q;
        for (int j = 0; j < q; j++) c[j] = 0.0;
        for (int l = 0; l < p; l++) {
            const double a = A[(size_t)i * p + l];
            const double *b = B + (size_t)l * q;
            for (int j = 0; j < q; j++) c[j] += a * b[j];
        }
    }
}

/* C (m x q) = A^T @ B with A (p x m), B (p x q) */
static void mtm(int p, int m, int q, const double *A, const double *B, double *C)
{
    memset(C, 0, sizeof(double) * (size_t)m * q);
    for (int l = 0; l < p; l++) {
        const double *a = A + (size_t)l * m;
        const double *b = B + (size_t)l * q;
        for (int i = 0; i < m; i++) {
            const double ai = a[i];
            double *c = C + (size_t)i * q;
            for (int j = 0; j < q; j++) c[j] += ai * b[j];
        }
    }
}

/* C (m x q) = A @ B^T with A (m x p), B (q x p) */
static void mmt(int m, int p, int q, const double *A, const double *B, double *C)
{
    for (int i = 0; i < m; i++) {
        const double *a = A + (size_t)i * p;
        for (int j = 0; j < q; j++) {
            const double *b = B + (size_t)j * p;
            double s = 0.0;
            for (int l = 0; l < p; l++) s += a[l] * b[l];
            C[(size_t)i * q + j] = s;
        }
    }
}

static void eye(int d, double *A)
{
    memset(A, 0, sizeof(double) * (size_t)d * d);
    for (int i = 0; i < d; i++) A[(size_t)i * d + i] = 1.0;
}

/* ------------------------------------------------------------------ the network */

typedef struct {
    int h, n, dy, dx, maxd;
    int *dims;            /* h + 1 */
    int *off;             /* h + 1 parameter offsets */
    double *sigma;        /* dy */
    double gamma;
    unsigned char *mask;  /* NULL or n */
    /* workspaces */
    double **S;           /* S[k] = W[h-1] ... W[k+1] (dy x dims[k+1]); S[h-1] = I */
    double **P;           /* P[k] = W[k-1] ... W[0] (dims[k] x dx); P[0] = I */
    double **X;           /* X[k] = S[k]^T Xi (dims[k+1] x dx) */
    double **T;           /* T[j] = W[k-1] ... W[j+1] for the current k (dims[k] x dims[j+1]) */
    double *Xi, *R0, *R1, *A, *B, *G;
} dln_net;

void dln_net_free(dln_net *net)
{
    if (!net) return;
    if (net->S) for (int k = 0; k < net->h; k++) free(net->S[k]);
    if (net->P) for (int k = 0; k < net->h; k++) free(net->P[k]);
    if (net->X) for (int k = 0; k < net->h; k++) free(net->X[k]);
    if (net->T) for (int k = 0; k < net->h; k++) free(net->T[k]);
    free(net->S); free(net->P); free(net->X); free(net->T);
    free(net->Xi); free(net->R0); free(net->R1); free(net->A); free(net->B); free(net->G);
    free(net->dims); free(net->off); free(net->sigma); free(net->mask);
    free(net);
}

dln_net *dln_net_new(int h, const int *dims, const double *sigma, double gamma, const unsigned char *mask)
{
    if (h < 1) return NULL;
    dln_net *net = calloc(1, sizeof(dln_net));
    if (!net) return NULL;
    net->h = h;
    net->dims = malloc(sizeof(int) * (h + 1));
    net->off = malloc(sizeof(int) * (h + 1));
    if (!net->dims || !net->off) { dln_net_free(net); return NULL; }
    int maxd = 0;
    net->off[0] = 0;
    for (int k = 0; k <= h; k++) {
        net->dims[k] = dims[k];
        if (dims[k] > maxd) maxd = dims[k];
        if (k < h) net->off[k + 1] = net->off[k] + dims[k] * dims[k + 1];
    }
    net->maxd = maxd;
    net->n = net->off[h];
    net->dx = dims[0];
    net->dy = dims[h];
    net->gamma = gamma;
    net->sigma = malloc(sizeof(double) * net->dy);
    if (!net->sigma) { dln_net_free(net); return NULL; }
    memcpy(net->sigma, sigma, sizeof(double) * net->dy);
    if (mask) {
        net->mask = malloc((size_t)net->n);
        if (!net->mask) { dln_net_free(net); return NULL; }
        memcpy(net->mask, mask, (size_t)net->n);
    }
    size_t big = (size_t)maxd * maxd;
    net->S = calloc(h, sizeof(double *));
    net->P = calloc(h, sizeof(double *));
    net->X = calloc(h, sizeof(double *));
    net->T = calloc(h, sizeof(double *));
    if (!net->S || !net->P || !net->X || !net->T) { dln_net_free(net); return NULL; }
    for (int k = 0; k < h; k++) {
        net->S[k] = malloc(sizeof(double) * net->dy * dims[k + 1]);
        net->P[k] = malloc(sizeof(double) * dims[k] * net->dx);
        net->X[k] = malloc(sizeof(double) * dims[k + 1] * net->dx);
        net->T[k] = malloc(sizeof(double) * big);
        if (!net->S[k] || !net->P[k] || !net->X[k] || !net->T[k]) { dln_net_free(net); return NULL; }
    }
    net->Xi = malloc(sizeof(double) * net->dy * net->dx);
    net->R0 = malloc(sizeof(double) * net->dy * maxd);
    net->R1 = malloc(sizeof(double) * net->dy * maxd);
    net->A = malloc(sizeof(double) * big);
    net->B = malloc(sizeof(double) * big);
    net->G = malloc(sizeof(double) * big);
    if (!net->Xi || !net->R0 || !net->R1 || !net->A || !net->B || !net->G) { dln_net_free(net); return NULL; }
    return net;
}

int dln_net_n(const dln_net *net) { return net->n; }

/* suffix products S[k] and the residual Xi = Sigma - S[0] W[0] */
static void suffixes_and_residual(dln_net *net, const double *x)
{
    const int h = net->h, dy = net->dy, dx = net->dx;
    const int *d = net->dims, *o = net->off;
    eye(dy, net->S[h - 1]);
    if (h >= 2) {
        memcpy(net->S[h - 2], x + o[h - 1], sizeof(double) * dy * d[h - 1]);
        for (int k = h - 3; k >= 0; k--)
            mm(dy, d[k + 2], d[k + 1], net->S[k + 1], x + o[k + 1], net->S[k]);
        mm(dy, d[1], dx, net->S[0], x + o[0], net->Xi);
    } else {
        memcpy(net->Xi, x, sizeof(double) * dy * dx);
    }
    for (int i = 0; i < dy * dx; i++) net->Xi[i] = -net->Xi[i];
    for (int i = 0; i < dy; i++) net->Xi[(size_t)i * dx + i] += net->sigma[i];
}

/* f = dx/dt, eqs. (9), (25): dW_k/dt = S_k^T R_k - gamma W_k, R_0 = Xi, R_{k+1} = R_k W_k^T */
void dln_rhs(dln_net *net, const double *x, double *f)
{
    const int h = net->h, dy = net->dy;
    const int *d = net->dims, *o = net->off;
    suffixes_and_residual(net, x);
    double *R = net->R0, *Rn = net->R1;
    memcpy(R, net->Xi, sizeof(double) * dy * net->dx);
    for (int k = 0; k < h; k++) {
        double *out = f + o[k];
        if (k == h - 1) {
            memcpy(out, R, sizeof(double) * dy * d[k]);
        } else {
            mtm(dy, d[k + 1], d[k], net->S[k], R, out);
            mmt(dy, d[k], d[k + 1], R, x + o[k], Rn);
            double *tmp = R; R = Rn; Rn = tmp;
        }
    }
    if (net->gamma != 0.0)
        for (int i = 0; i < net->n; i++) f[i] -= net->gamma * x[i];
    if (net->mask)
        for (int i = 0; i < net->n; i++) if (!net->mask[i]) f[i] = 0.0;
}

void dln_rhs_batch(dln_net *net, int batch, const double *x, double *f)
{
    for (int b = 0; b < batch; b++) dln_rhs(net, x + (size_t)b * net->n, f + (size_t)b * net->n);
}

double dln_loss(dln_net *net, const double *x)
{
    suffixes_and_residual(net, x);
    double s = 0.0;
    for (int i = 0; i < net->dy * net->dx; i++) s += net->Xi[i] * net->Xi[i];
    s *= 0.5;
    if (net->gamma != 0.0) {
        double q = 0.0;
        for (int i = 0; i < net->n; i++) q += x[i] * x[i];
        s += 0.5 * net->gamma * q;
    }
    return s;
}

/* loss of `count` states (count x n, row-major) into out[count] */
void dln_loss_batch(dln_net *net, int count, const double *x, double *out)
{
    for (int r = 0; r < count; r++) out[r] = dln_loss(net, x + (size_t)r * net->n);
}

/* the conservation laws C_i = W_i W_i^T - W_{i+1}^T W_{i+1} (Prop. 6), entries a <= b of each */
static void conserved_laws(const dln_net *net, const double *x, double *c)
{
    const int *d = net->dims, *o = net->off;
    int m = 0;
    for (int i = 0; i + 1 < net->h; i++) {
        const int di = d[i + 1], din = d[i], dout = d[i + 2];
        const double *W = x + o[i], *U = x + o[i + 1];      /* W: di x din, U: dout x di */
        for (int a = 0; a < di; a++)
            for (int b = a; b < di; b++) {
                double s = 0.0;
                for (int q = 0; q < din; q++) s += W[a * din + q] * W[b * din + q];
                for (int r = 0; r < dout; r++) s -= U[r * di + a] * U[r * di + b];
                c[m++] = s;
            }
    }
}

/* Drift of the conservation laws over `count` rows of `members` states each (time first): out[0]
 * the largest |C(t) - C(0)| / max(1, |C(0)|) and out[1] the largest |C(t) - C(0)|, entry by entry
 * and member by member (as dlnsys.simulate's Trajectory.conserved_drift). Returns -1 if out of
 * memory, else 0. */
int dln_conserved_drift(dln_net *net, int count, int members, const double *x, double *out)
{
    int m = 0;
    for (int i = 0; i + 1 < net->h; i++) m += net->dims[i + 1] * (net->dims[i + 1] + 1) / 2;
    out[0] = out[1] = 0.0;
    if (m == 0 || count == 0) return 0;
    double *c0 = malloc(sizeof(double) * (size_t)m * members), *c = malloc(sizeof(double) * m);
    if (!c0 || !c) { free(c0); free(c); return -1; }
    for (int b = 0; b < members; b++) conserved_laws(net, x + (size_t)b * net->n, c0 + (size_t)b * m);
    double rel = 0.0, ab = 0.0;
    int nan = 0;
    for (int r = 1; r < count; r++)
        for (int b = 0; b < members; b++) {
            conserved_laws(net, x + ((size_t)r * members + b) * net->n, c);
            const double *ref = c0 + (size_t)b * m;
            for (int k = 0; k < m; k++) {
                double dv = fabs(c[k] - ref[k]), sc = fabs(ref[k]) > 1.0 ? fabs(ref[k]) : 1.0;
                if (isnan(dv)) nan = 1;
                if (dv > ab) ab = dv;
                if (dv / sc > rel) rel = dv / sc;
            }
        }
    free(c0); free(c);
    out[0] = nan ? NAN : rel; out[1] = nan ? NAN : ab;
    return 0;
}

/* Dense Jacobian J = -H (row-major n x n), H = K^T K + H_2 + gamma I:
 * block (k, j) of K^T K is (S_k^T S_j) (x) (P_k P_j^T); for j < k, H_2[(a,c),(d,b)] = -G[a,b] T[c,d]
 * with G = S_k^T Xi P_j^T and T = W[k-1] ... W[j+1]. Rows of fixed (masked) entries are zero. */
void dln_jac(dln_net *net, const double *x, double *J)
{
    const int h = net->h, dy = net->dy, dx = net->dx, n = net->n;
    const int *d = net->dims, *o = net->off;
    suffixes_and_residual(net, x);
    eye(dx, net->P[0]);
    for (int k = 1; k < h; k++) mm(d[k], d[k - 1], dx, x + o[k - 1], net->P[k - 1], net->P[k]);
    for (int k = 0; k < h; k++) mtm(dy, d[k + 1], dx, net->S[k], net->Xi, net->X[k]);
    for (int k = 0; k < h; k++) {
        if (k >= 1) {
            eye(d[k], net->T[k - 1]);
            for (int j = k - 2; j >= 0; j--) mm(d[k], d[j + 2], d[j + 1], net->T[j + 1], x + o[j + 1], net->T[j]);
        }
        const int rk = d[k + 1], ck = d[k];
        for (int j = 0; j <= k; j++) {
            const int rj = d[j + 1], cj = d[j];
            double *A = net->A, *B = net->B, *G = net->G;
            mtm(dy, rk, rj, net->S[k], net->S[j], A);          /* rk x rj */
            mmt(ck, dx, cj, net->P[k], net->P[j], B);          /* ck x cj */
            const double *T = NULL;
            if (j < k) {
                mmt(rk, dx, cj, net->X[k], net->P[j], G);      /* rk x cj */
                T = net->T[j];                                 /* ck x rj */
            }
            for (int a = 0; a < rk; a++) {
                for (int c = 0; c < ck; c++) {
                    const size_t row = (size_t)o[k] + (size_t)a * ck + c;
                    double *Jrow = J + row * n + o[j];
                    const double *Aa = A + (size_t)a * rj;
                    const double *Bc = B + (size_t)c * cj;
                    if (T) {
                        const double *Ga = G + (size_t)a * cj;
                        const double *Tc = T + (size_t)c * rj;
                        for (int dd = 0; dd < rj; dd++) {
                            const double ad = Aa[dd], td = Tc[dd];
                            double *Jr = Jrow + (size_t)dd * cj;
                            for (int b = 0; b < cj; b++) Jr[b] = td * Ga[b] - ad * Bc[b];
                        }
                    } else {
                        for (int dd = 0; dd < rj; dd++) {
                            const double ad = Aa[dd];
                            double *Jr = Jrow + (size_t)dd * cj;
                            for (int b = 0; b < cj; b++) Jr[b] = -ad * Bc[b];
                        }
                    }
                }
            }
        }
    }
    /* the upper blocks by symmetry */
    for (int k = 0; k < h; k++)
        for (int j = k + 1; j < h; j++)
            for (int r = o[k]; r < o[k + 1]; r++) {
                double *Jr = J + (size_t)r * n;
                for (int c = o[j]; c < o[j + 1]; c++) Jr[c] = J[(size_t)c * n + r];
            }
    if (net->gamma != 0.0)
        for (int i = 0; i < n; i++) J[(size_t)i * n + i] -= net->gamma;
    if (net->mask)
        for (int i = 0; i < n; i++)
            if (!net->mask[i]) memset(J + (size_t)i * n, 0, sizeof(double) * n);
}

/* ------------------------------------------------------------------ LU (partial pivoting) */

/* The Newton matrix I - c J is only an approximation (J and c are reused over many steps), so it
 * is factorized in single precision by default: half the memory traffic and twice the SIMD width
 * for the two costs that dominate the integration (LU and triangular solves), while residuals,
 * corrections and the state stay in double. The chord iteration converges to the double-precision
 * solution; its rate is monitored as always. Compile with -DLU_DOUBLE for a double LU. */
#ifdef LU_DOUBLE
typedef double lu_t;
#else
typedef float lu_t;
#endif

/* LU with partial pivoting, in place, COLUMN-major (column j is A + j n), so that every inner
 * loop is a contiguous axpy that the compiler vectorizes; the Newton matrix I - c J is symmetric,
 * so its row-major copy is already column-major. Right-looking and blocked by LU_NB columns: a
 * panel is factorized with rank-1 updates of its own columns, then every later column gets the
 * panel's LU_NB updates in one pass (LU_NB times less memory traffic than one pass per pivot).
 * Returns 0, or k + 1 if the pivot of column k is zero. */
#ifndef LU_NB
#define LU_NB 8
#endif
static int lu_factor(int n, lu_t *A, int *piv)
{
    int info = 0;
    for (int k0 = 0; k0 < n; k0 += LU_NB) {
        const int k1 = k0 + LU_NB < n ? k0 + LU_NB : n;       /* panel columns k0 .. k1-1 */
        for (int k = k0; k < k1; k++) {
            lu_t *ck = A + (size_t)k * n;
            int p = k;
            lu_t best = fabs(ck[k]);
            for (int i = k + 1; i < n; i++) {
                lu_t v = fabs(ck[i]);
                if (v > best) { best = v; p = i; }
            }
            piv[k] = p;
            if (p != k)                     /* the panel's rows now; other columns after the panel */
                for (int j = k0; j < k1; j++) {
                    lu_t *cj = A + (size_t)j * n;
                    lu_t t = cj[k]; cj[k] = cj[p]; cj[p] = t;
                }
            if (ck[k] == 0) { if (!info) info = k + 1; continue; }
            const lu_t inv = 1 / ck[k];
            for (int i = k + 1; i < n; i++) ck[i] *= inv;
            for (int j = k + 1; j < k1; j++) {
                lu_t *cj = A + (size_t)j * n;
                const lu_t a = cj[k];
                if (a != 0)
                    for (int i = k + 1; i < n; i++) cj[i] -= a * ck[i];
            }
        }
        const int nb = k1 - k0;
        for (int j = 0; j < k0; j++) {          /* the panel's row swaps in the columns to the left */
            lu_t *cj = A + (size_t)j * n;
            for (int k = k0; k < k1; k++)
                if (piv[k] != k) { lu_t t = cj[k]; cj[k] = cj[piv[k]]; cj[piv[k]] = t; }
        }
        for (int j = k1; j < n; j++) {
            lu_t *cj = A + (size_t)j * n;
            for (int k = k0; k < k1; k++)       /* ... and to the right */
                if (piv[k] != k) { lu_t t = cj[k]; cj[k] = cj[piv[k]]; cj[piv[k]] = t; }
            /* U12: forward substitution with the panel's unit lower triangle */
            for (int p = k0; p < k1; p++) {
                const lu_t a = cj[p];
                const lu_t *cp = A + (size_t)p * n;
                for (int r = p + 1; r < k1; r++) cj[r] -= a * cp[r];
            }
            /* trailing update with all panel columns at once */
            if (nb == 8) {
                const lu_t *l0 = A + (size_t)k0 * n, *l1 = l0 + n, *l2 = l1 + n, *l3 = l2 + n,
                           *l4 = l3 + n, *l5 = l4 + n, *l6 = l5 + n, *l7 = l6 + n;
                const lu_t u0 = cj[k0], u1 = cj[k0 + 1], u2 = cj[k0 + 2], u3 = cj[k0 + 3],
                           u4 = cj[k0 + 4], u5 = cj[k0 + 5], u6 = cj[k0 + 6], u7 = cj[k0 + 7];
                for (int i = k1; i < n; i++)
                    cj[i] -= ((u0 * l0[i] + u1 * l1[i]) + (u2 * l2[i] + u3 * l3[i]))
                           + ((u4 * l4[i] + u5 * l5[i]) + (u6 * l6[i] + u7 * l7[i]));
            } else {
                for (int p = k0; p < k1; p++) {
                    const lu_t a = cj[p];
                    const lu_t *cp = A + (size_t)p * n;
                    if (a != 0)
                        for (int i = k1; i < n; i++) cj[i] -= a * cp[i];
                }
            }
        }
    }
    return info;
}

/* b <- A^{-1} b with the factors of lu_factor; w is a work vector of n lu_t */
static void lu_solve(int n, const lu_t *A, const int *piv, double *b, lu_t *w)
{
    for (int k = 0; k < n; k++) {
        int p = piv[k];
        if (p != k) { double t = b[k]; b[k] = b[p]; b[p] = t; }
    }
    for (int i = 0; i < n; i++) w[i] = (lu_t)b[i];
    for (int j = 0; j < n; j++) {                 /* L y = b, unit diagonal */
        const lu_t *cj = A + (size_t)j * n;
        const lu_t x = w[j];
        if (x != 0)
            for (int i = j + 1; i < n; i++) w[i] -= x * cj[i];
    }
    for (int j = n - 1; j >= 0; j--) {            /* U x = y */
        const lu_t *cj = A + (size_t)j * n;
        const lu_t x = w[j] / cj[j];
        w[j] = x;
        if (x != 0)
            for (int i = 0; i < j; i++) w[i] -= x * cj[i];
    }
    for (int i = 0; i < n; i++) b[i] = w[i];
}

/* ------------------------------------------------------------------ the BDF/NDF integrator */

enum { ST_DONE = 0, ST_PAUSED = 1, ST_EVENT = 2, ST_STEP_TOO_SMALL = -1, ST_NONFINITE = -2, ST_SINGULAR = -3 };

typedef struct {
    dln_net *net;
    int B, n, N;                   /* members, size of one member, total size B n */
    double t, t_final, h, max_step, rtol, atol, until_loss;
    int order, n_equal_steps, status;
    double *D;                     /* (MAX_ORDER + 3) x N differences */
    double *y, *ypred, *yold, *psi, *d, *f, *dy, *scale, *tmp;
    double *J;                     /* B x n x n */
    lu_t *LU;                      /* B x n x n */
    lu_t *w;                       /* n */
    int *piv;                      /* B x n */
    int have_J, have_LU, J_age, LU_age;
    double c_lu, crate;
    long nfev, njev, nlu, nsteps, nrejected, nnewton_fail, nnewton_iter, nerr_fail, nlu_age;
    double kappa[MAX_ORDER + 2], gam[MAX_ORDER + 2], alpha[MAX_ORDER + 2], errc[MAX_ORDER + 2];
    double RU[(MAX_ORDER + 1) * (MAX_ORDER + 1)];
} bdf_t;

static int finite_all(int n, const double *v)
{
    for (int i = 0; i < n; i++) if (!isfinite(v[i])) return 0;
    return 1;
}

#ifndef ERR_NORM_MAX
#define ERR_NORM_MAX 1
#endif
#ifndef NEWTON_NORM_MAX
#define NEWTON_NORM_MAX 1
#endif
/* Weighted norms of v / scale; for a stack, the largest over the members. */
static double rms_norm(const bdf_t *s, const double *v, const double *scale)
{
    double worst = 0.0;
    for (int b = 0; b < s->B; b++) {
        double acc = 0.0;
        const double *vb = v + (size_t)b * s->n, *sb = scale + (size_t)b * s->n;
        for (int i = 0; i < s->n; i++) { double q = vb[i] / sb[i]; acc += q * q; }
        acc = sqrt(acc / s->n);
        if (acc > worst || isnan(acc)) worst = acc;
    }
    return worst;
}

static double max_norm(const bdf_t *s, const double *v, const double *scale)
{
    double worst = 0.0;
    for (int i = 0; i < s->N; i++) {
        double q = fabs(v[i] / scale[i]);
        if (q > worst || isnan(q)) worst = q;
    }
    return worst;
}

/* the local error test and order selection */
static double err_norm(const bdf_t *s, const double *v, const double *scale)
{
    return ERR_NORM_MAX ? max_norm(s, v, scale) : rms_norm(s, v, scale);
}

/* the Newton iteration's convergence test */
static double newton_norm(const bdf_t *s, const double *v, const double *scale)
{
    return NEWTON_NORM_MAX ? max_norm(s, v, scale) : rms_norm(s, v, scale);
}

static void fun(bdf_t *s, const double *y, double *f)
{
    for (int b = 0; b < s->B; b++) dln_rhs(s->net, y + (size_t)b * s->n, f + (size_t)b * s->n);
    s->nfev++;
}

static void eval_jac(bdf_t *s)
{
    const size_t nn = (size_t)s->n * s->n;
    /* at the last accepted state D[0] (s->y may hold a failed Newton iterate) */
    for (int b = 0; b < s->B; b++) dln_jac(s->net, s->D + (size_t)b * s->n, s->J + b * nn);
    s->njev++;
    s->have_J = 1;
    s->J_age = 0;
}

static int factorize(bdf_t *s, double c)
{
    const int n = s->n;
    const size_t nn = (size_t)n * n;
    for (int b = 0; b < s->B; b++) {
        lu_t *M = s->LU + b * nn;
        const double *Jb = s->J + b * nn;
        for (size_t i = 0; i < nn; i++) M[i] = (lu_t)(-c * Jb[i]);
        for (int i = 0; i < n; i++) M[(size_t)i * n + i] += 1;
        if (lu_factor(n, M, s->piv + (size_t)b * n)) { s->have_LU = 0; return -1; }
    }
    s->nlu++;
    s->have_LU = 1;
    s->LU_age = 0;
    s->c_lu = c;
    s->crate = 1.0;
    return 0;
}

static void solve(bdf_t *s, double *v)
{
    const size_t nn = (size_t)s->n * s->n;
    const unsigned char *mask = s->net->mask;
    for (int b = 0; b < s->B; b++) {
        double *vb = v + (size_t)b * s->n;
        lu_solve(s->n, s->LU + b * nn, s->piv + (size_t)b * s->n, vb, s->w);
        /* fixed entries have identity rows in I - c J; keep them exactly fixed despite the
         * single-precision factors */
        if (mask)
            for (int i = 0; i < s->n; i++) if (!mask[i]) vb[i] = 0.0;
    }
}

/* D[0..order] <- (R(rho) U)^T D[0..order] */
static void change_D(bdf_t *s, double rho)
{
    const int k = s->order, K = k + 1, N = s->N;
    double R[(MAX_ORDER + 1) * (MAX_ORDER + 1)], U[(MAX_ORDER + 1) * (MAX_ORDER + 1)];
    for (int pass = 0; pass < 2; pass++) {
        double *M = pass == 0 ? R : U;
        double fac = pass == 0 ? rho : 1.0;
        for (int j = 0; j < K; j++) M[j] = 1.0;
        for (int i = 1; i < K; i++) {
            M[i * K + 0] = 0.0;
            for (int j = 1; j < K; j++) M[i * K + j] = M[(i - 1) * K + j] * (i - 1 - fac * j) / i;
        }
    }
    for (int i = 0; i < K; i++)
        for (int j = 0; j < K; j++) {
            double acc = 0.0;
            for (int m = 0; m < K; m++) acc += R[i * K + m] * U[m * K + j];
            s->RU[i * K + j] = acc;
        }
    /* new D[j] = sum_m RU[m][j] D[m]; work column by column of the state */
    double old[MAX_ORDER + 1];
    for (int q = 0; q < N; q++) {
        for (int m = 0; m < K; m++) old[m] = s->D[(size_t)m * N + q];
        for (int j = 0; j < K; j++) {
            double acc = 0.0;
            for (int m = 0; m < K; m++) acc += s->RU[m * K + j] * old[m];
            s->D[(size_t)j * N + q] = acc;
        }
    }
}

static void set_h(bdf_t *s, double h_new)
{
    if (h_new != s->h) {
        change_D(s, h_new / s->h);
        s->h = h_new;
        s->n_equal_steps = 0;
    }
}

void bdf_free(bdf_t *s)
{
    if (!s) return;
    free(s->D); free(s->y); free(s->ypred); free(s->yold); free(s->psi); free(s->d); free(s->f);
    free(s->dy); free(s->scale); free(s->tmp); free(s->J); free(s->LU); free(s->piv); free(s->w);
    free(s);
}

/* h0 <= 0: choose the first step from the local behaviour (two evaluations). */
bdf_t *bdf_new(dln_net *net, int B, double t0, const double *y0, double t_final, double rtol, double atol,
               double max_step, double h0)
{
    bdf_t *s = calloc(1, sizeof(bdf_t));
    if (!s) return NULL;
    s->net = net; s->B = B; s->n = net->n; s->N = B * net->n;
    s->t = t0; s->t_final = t_final; s->rtol = rtol; s->atol = atol;
    s->max_step = max_step > 0 ? max_step : INFINITY;
    s->until_loss = -1.0;
    const size_t N = (size_t)s->N, nn = (size_t)s->n * s->n;
    s->D = calloc((MAX_ORDER + 3) * N, sizeof(double));
    s->y = malloc(N * sizeof(double)); s->ypred = malloc(N * sizeof(double));
    s->yold = malloc(N * sizeof(double)); s->psi = malloc(N * sizeof(double));
    s->d = malloc(N * sizeof(double)); s->f = malloc(N * sizeof(double));
    s->dy = malloc(N * sizeof(double)); s->scale = malloc(N * sizeof(double));
    s->tmp = malloc(N * sizeof(double));
    s->J = malloc(B * nn * sizeof(double)); s->LU = malloc(B * nn * sizeof(lu_t));
    s->piv = malloc(N * sizeof(int)); s->w = malloc(s->n * sizeof(lu_t));
    if (!s->D || !s->y || !s->ypred || !s->yold || !s->psi || !s->d || !s->f || !s->dy || !s->scale
        || !s->tmp || !s->J || !s->LU || !s->piv || !s->w) { bdf_free(s); return NULL; }
#ifndef USE_NDF
#define USE_NDF 0
#endif
#if USE_NDF
    static const double kappa[MAX_ORDER + 2] = {0.0, -0.1850, -1.0 / 9.0, -0.0823, -0.0415, 0.0, 0.0};
#else
    static const double kappa[MAX_ORDER + 2] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
#endif
    double g = 0.0;
    for (int k = 0; k <= MAX_ORDER + 1; k++) {
        if (k > 0) g += 1.0 / k;
        s->kappa[k] = k <= MAX_ORDER ? kappa[k] : 0.0;
        s->gam[k] = g;
        s->alpha[k] = (1.0 - s->kappa[k]) * g;
        s->errc[k] = s->kappa[k] * g + 1.0 / (k + 1);
    }
    memcpy(s->y, y0, N * sizeof(double));
    fun(s, s->y, s->f);
    if (!finite_all(s->N, s->f)) { s->status = ST_NONFINITE; return s; }
    double span = fabs(t_final - t0);
    if (h0 <= 0) {
        /* first-step heuristic: h ~ 0.01 |y|/|f|, refined by an estimate of the second derivative */
        for (size_t i = 0; i < N; i++) s->scale[i] = atol + rtol * fabs(y0[i]);
        double d0 = err_norm(s, y0, s->scale), d1 = err_norm(s, s->f, s->scale);
        double ha = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 : 0.01 * d0 / d1;
        if (ha > span) ha = span;
        for (size_t i = 0; i < N; i++) s->tmp[i] = y0[i] + ha * s->f[i];
        fun(s, s->tmp, s->dy);
        for (size_t i = 0; i < N; i++) s->dy[i] = (s->dy[i] - s->f[i]) / ha;
        double d2 = err_norm(s, s->dy, s->scale);
        double hb;
        if (d1 <= 1e-15 && d2 <= 1e-15) hb = fmax(1e-6, ha * 1e-3);
        else hb = pow(0.01 / fmax(d1, d2), 1.0 / 2.0);
        h0 = fmin(100 * ha, hb);
    }
    if (h0 > span) h0 = span;
    if (h0 > s->max_step) h0 = s->max_step;
    if (h0 <= 0) h0 = span > 0 ? span : 1.0;
    s->h = h0;
    s->order = 1;
    memcpy(s->D, s->y, N * sizeof(double));
    for (size_t i = 0; i < N; i++) s->D[N + i] = h0 * s->f[i];
    s->status = span > 0 ? ST_PAUSED : ST_DONE;
    return s;
}

/* Stop when the loss (the largest over the members) falls to `value` (< 0: never). */
void bdf_set_until_loss(bdf_t *s, double value) { s->until_loss = value; }

static double max_loss(bdf_t *s, const double *y)
{
    double worst = -INFINITY;
    for (int b = 0; b < s->B; b++) {
        double L = dln_loss(s->net, y + (size_t)b * s->n);
        if (L > worst || isnan(L)) worst = L;
    }
    return worst;
}

/* Newton (chord) iteration for the corrector; returns 1 if converged, fills s->y and s->d.
 * Convergence test as in the BDF codes of the SUNDIALS family: the correction norm times the
 * estimated contraction rate (carried over between steps, reset to 1 with every new LU) must be
 * below NEWTON_TOL / (error constant), i.e. the iteration error is a small fraction of the
 * local error the step is allowed. */
static int newton(bdf_t *s, double c, int *n_iter)
{
    const int N = s->N;
    const double tol = NEWTON_TOL / s->errc[s->order];
    /* The LU is of I - c_lu J. Its chord step is off by the factor g = c / c_lu in the stiff
     * components and by 1 in the others; scaling by 2 / (1 + g) leaves the error |1 - g| / (1 + g)
     * in both (0.29 at g = 1.8), so the LU can be kept over a wider range of c. */
    const double g = c / s->c_lu, gscale = 2.0 / (1.0 + g);
    memcpy(s->y, s->ypred, N * sizeof(double));
    memset(s->d, 0, N * sizeof(double));
    double delp = 0.0;
    for (int it = 0; it < NEWTON_MAXITER; it++) {
        fun(s, s->y, s->f);
        s->nnewton_iter++;
        *n_iter = it + 1;
        if (!finite_all(N, s->f)) return 0;
        for (int i = 0; i < N; i++) s->dy[i] = c * s->f[i] - s->psi[i] - s->d[i];
        solve(s, s->dy);
        if (gscale != 1.0)
            for (int i = 0; i < N; i++) s->dy[i] *= gscale;
        double del = newton_norm(s, s->dy, s->scale);
        if (!isfinite(del)) return 0;
        for (int i = 0; i < N; i++) { s->y[i] += s->dy[i]; s->d[i] += s->dy[i]; }
        if (it > 0) s->crate = fmax(0.3 * s->crate, del / delp);
        if (del * fmin(1.0, s->crate) <= tol) return 1;
        if (it > 0 && del > 2.0 * delp) return 0;
        delp = del;
    }
    return 0;
}

/* y at time tq inside the last step (t - h, t], from the interpolating polynomial of D. */
static void interpolate(const bdf_t *s, double tq, double *out)
{
    const int k = s->order, N = s->N;
    double p[MAX_ORDER + 1];
    double acc = 1.0;
    for (int j = 0; j < k; j++) {
        acc *= (tq - (s->t - s->h * j)) / (s->h * (1 + j));
        p[j] = acc;
    }
    for (int i = 0; i < N; i++) {
        double v = s->D[i];
        for (int j = 0; j < k; j++) v += s->D[(size_t)(j + 1) * N + i] * p[j];
        out[i] = v;
    }
}

/*
 * Advance until t_final, max_steps accepted steps, or a full output buffer.
 * Output: with t_eval (n_eval > 0) the states at t_eval[*i_eval ...] inside each step; without,
 * every accepted step. Rows go to out_t[*n_out], out_y[*n_out * N], at most max_out rows.
 * Returns the status: 0 done, 1 paused (call again), < 0 failure.
 */
int bdf_run(bdf_t *s, int max_steps, const double *t_eval, int n_eval, int *i_eval,
            double *out_t, double *out_y, int max_out, int *n_out)
{
    const int N = s->N;
    const double eps = 2.220446049250313e-16;
    if (s->status <= 0) return s->status;
    *n_out = 0;
    int steps = 0;
    while (steps < max_steps) {
        if (n_eval <= 0 && *n_out >= max_out) return s->status = ST_PAUSED;
        if (n_eval > 0 && *i_eval < n_eval && *n_out >= max_out) return s->status = ST_PAUSED;
        /* step size limits */
        double min_step = 10 * eps * fabs(s->t);
        if (s->h > s->max_step) set_h(s, s->max_step);
        if (s->h < min_step) set_h(s, min_step);
        int accepted = 0, n_iter = 0;
        while (!accepted) {
            if (s->h < min_step) return s->status = ST_STEP_TOO_SMALL;
            double t_new = s->t + s->h;
            if (t_new >= s->t_final || s->t_final - t_new < 4 * eps * fabs(s->t_final)) {
                t_new = s->t_final;
                set_h(s, t_new - s->t);
            }
            const int k = s->order;
            /* predictor, scale and psi */
            for (int i = 0; i < N; i++) {
                double v = 0.0;
                for (int j = 0; j <= k; j++) v += s->D[(size_t)j * N + i];
                s->ypred[i] = v;
                s->scale[i] = s->atol + s->rtol * fabs(v);
                double q = 0.0;
                for (int j = 1; j <= k; j++) q += s->gam[j] * s->D[(size_t)j * N + i];
                s->psi[i] = q / s->alpha[k];
            }
            const double c = s->h / s->alpha[k];
            int converged = 0;
            for (;;) {
                int need_lu = !s->have_LU || c > C_RATIO_MAX * s->c_lu || c * C_RATIO_MAX < s->c_lu
                              || s->LU_age >= LU_MAX_AGE;
                if (need_lu) {
                    if (s->have_LU && s->LU_age >= LU_MAX_AGE) s->nlu_age++;
                    if (!s->have_J || s->J_age >= JAC_MAX_AGE) eval_jac(s);
                    if (factorize(s, c)) {
                        if (s->J_age > 0) { eval_jac(s); if (factorize(s, c) == 0) goto factored; }
                        break;      /* singular: reduce the step */
                    }
                }
            factored:
                converged = newton(s, c, &n_iter);
                if (converged) break;
                s->nnewton_fail++;
                if (s->J_age > 0 || !s->have_J) {     /* stale Jacobian: refresh and retry */
                    eval_jac(s);
                    if (factorize(s, c)) break;
                    converged = newton(s, c, &n_iter);
                    if (converged) break;
                    s->nnewton_fail++;
                } else if (s->LU_age > 0 || s->c_lu != c) {
                    if (factorize(s, c)) break;
                    converged = newton(s, c, &n_iter);
                    if (converged) break;
                    s->nnewton_fail++;
                }
                break;
            }
            if (!converged) {
                set_h(s, s->h * 0.5);
                s->nrejected++;
                continue;
            }
            /* error estimate */
            for (int i = 0; i < N; i++) {
                s->scale[i] = s->atol + s->rtol * fabs(s->y[i]);
                s->tmp[i] = s->errc[k] * s->d[i];
            }
            double err = err_norm(s, s->tmp, s->scale);
            if (!(err <= 1.0)) {
                double safety = 0.9 * (2 * NEWTON_MAXITER + 1) / (2 * NEWTON_MAXITER + n_iter);
                double factor = isfinite(err) ? fmax(MIN_FACTOR, safety * pow(err, -1.0 / (k + 1))) : MIN_FACTOR;
                set_h(s, s->h * factor);
                s->nrejected++;
                s->nerr_fail++;
                continue;
            }
            accepted = 1;
            /* accept: update the differences */
            s->t = t_new;
            s->nsteps++;
            steps++;
            s->n_equal_steps++;
            s->J_age++;
            s->LU_age++;
            {
                double *Dk1 = s->D + (size_t)(k + 1) * N, *Dk2 = s->D + (size_t)(k + 2) * N;
                for (int i = 0; i < N; i++) { Dk2[i] = s->d[i] - Dk1[i]; Dk1[i] = s->d[i]; }
                for (int j = k; j >= 0; j--) {
                    double *Dj = s->D + (size_t)j * N, *Dj1 = s->D + (size_t)(j + 1) * N;
                    for (int i = 0; i < N; i++) Dj[i] += Dj1[i];
                }
            }
            /* until_loss: the crossing inside this step, by bisection on the interpolant */
            double t_stop = s->t;
            int event = 0;
            if (s->until_loss >= 0 && max_loss(s, s->D) <= s->until_loss) {
                double lo = t_new - s->h, hi = s->t;
                for (int it = 0; it < 200 && hi - lo > 4 * eps * fabs(hi); it++) {
                    double mid = 0.5 * (lo + hi);
                    interpolate(s, mid, s->tmp);
                    if (max_loss(s, s->tmp) <= s->until_loss) hi = mid; else lo = mid;
                }
                t_stop = hi;
                event = 1;
            }
            /* output */
            if (n_eval > 0) {
                while (*i_eval < n_eval && t_eval[*i_eval] <= t_stop && *n_out < max_out) {
                    double tq = t_eval[*i_eval];
                    /* the caller passes only times > t0, so tq > t_old here */
                    if (tq == s->t) memcpy(out_y + (size_t)(*n_out) * N, s->D, N * sizeof(double));
                    else interpolate(s, tq, out_y + (size_t)(*n_out) * N);
                    out_t[*n_out] = tq;
                    (*n_out)++;
                    (*i_eval)++;
                }
            } else if (!event) {
                out_t[*n_out] = s->t;
                memcpy(out_y + (size_t)(*n_out) * N, s->D, N * sizeof(double));
                (*n_out)++;
            }
            if (event) {           /* the stopping point is the last row (the caller leaves room for it) */
                if (!(*n_out > 0 && out_t[*n_out - 1] == t_stop)) {
                    if (t_stop == s->t) memcpy(out_y + (size_t)(*n_out) * N, s->D, N * sizeof(double));
                    else interpolate(s, t_stop, out_y + (size_t)(*n_out) * N);
                    out_t[*n_out] = t_stop;
                    (*n_out)++;
                }
                return s->status = ST_EVENT;
            }
            if (s->t >= s->t_final) return s->status = ST_DONE;
            /* step size and order for the next step */
            if (s->n_equal_steps < k + 1 && err > EARLY_SHRINK) {
                /* too early to change the order, but the error is growing: shrink now rather than
                 * fail the error test on one of the next steps */
                double safety = 0.9 * (2 * NEWTON_MAXITER + 1) / (2 * NEWTON_MAXITER + n_iter);
                double factor = fmax(MIN_FACTOR, safety * pow(err, -1.0 / (k + 1)));
                if (factor < 1.0) set_h(s, s->h * factor);
            } else if (s->n_equal_steps >= k + 1) {
                double e_m = INFINITY, e_p = INFINITY;
                if (k > 1) {
                    for (int i = 0; i < N; i++) s->tmp[i] = s->errc[k - 1] * s->D[(size_t)k * N + i];
                    e_m = err_norm(s, s->tmp, s->scale);
                }
                if (k < MAX_ORDER) {
                    for (int i = 0; i < N; i++) s->tmp[i] = s->errc[k + 1] * s->D[(size_t)(k + 2) * N + i];
                    e_p = err_norm(s, s->tmp, s->scale);
                }
                double f_m = k > 1 ? (e_m > 0 ? pow(e_m, -1.0 / k) : MAX_FACTOR * 10) : 0.0;
                double f_0 = err > 0 ? pow(err, -1.0 / (k + 1)) : MAX_FACTOR * 10;
                double f_p = k < MAX_ORDER ? (e_p > 0 ? pow(e_p, -1.0 / (k + 2)) : MAX_FACTOR * 10) : 0.0;
                int delta = 0;
                double best = f_0;
                if (f_m > best) { best = f_m; delta = -1; }
                if (f_p > best) { best = f_p; delta = 1; }
                double safety = 0.9 * (2 * NEWTON_MAXITER + 1) / (2 * NEWTON_MAXITER + n_iter);
                double factor = fmin(MAX_FACTOR, safety * best);
                if (delta != 0 || factor < 1.0 || factor >= HOLD_FACTOR) {
                    s->order = k + delta;
                    set_h(s, s->h * factor);
                    s->n_equal_steps = 0;
                }
            }
        }
    }
    return s->status = ST_PAUSED;
}

double bdf_t_now(const bdf_t *s) { return s->t; }
double bdf_h(const bdf_t *s) { return s->h; }
int bdf_order(const bdf_t *s) { return s->order; }
int bdf_status(const bdf_t *s) { return s->status; }
void bdf_state(const bdf_t *s, double *y) { memcpy(y, s->D, (size_t)s->N * sizeof(double)); }

/* nfev, njev, nlu, nsteps, nrejected, nnewton_fail, nnewton_iter, nerr_fail, nlu_age */
void bdf_stats(const bdf_t *s, long *out)
{
    out[0] = s->nfev; out[1] = s->njev; out[2] = s->nlu; out[3] = s->nsteps;
    out[4] = s->nrejected; out[5] = s->nnewton_fail; out[6] = s->nnewton_iter;
    out[7] = s->nerr_fail; out[8] = s->nlu_age;
}
