/* checkpoint.c: every param and state leaf of a session's graph into one
 * safetensors file by name, and back, for any model. It reads and writes
 * the leaves through the graph's session calls (exec.h), not through
 * Vulkan. */
#include "exec.h"
#include "graph.h"
#include "io.h"
#include "util.h"

#include <stdlib.h>

static int persistent(const g_tensor *t) { return t->op == G_OP_PARAM || t->op == G_OP_STATE; }

int meg_checkpoint_save(const char *path, g_session *s, g_graph *g, const meg_st_kv *meta, size_t nmeta)
{
    return meg_checkpoint_save_extra(path, s, g, NULL, 0, meta, nmeta);
}

int meg_checkpoint_save_extra(const char *path, g_session *s, g_graph *g, const meg_st_tensor *extra, size_t nextra,
                              const meg_st_kv *meta, size_t nmeta)
{
    int n = g_graph_size(g), nt = 0, rc = -1;
    meg_st_tensor *ts = calloc((size_t)n + nextra, sizeof *ts);
    float **bufs = calloc((size_t)n, sizeof *bufs);
    if (!ts || !bufs) { rt_set_error("out of host memory"); goto done; }
    for (int id = 0; id < n; id++) {
        g_tensor *t = g_graph_node(g, id);
        if (!persistent(t)) continue;
        float *v = malloc(g_numel(t) * sizeof *v);
        if (!v) { rt_set_error("out of host memory"); goto done; }
        bufs[nt] = v;
        if (g_session_read(s, t, v)) goto done;
        ts[nt].name = t->name;
        ts[nt].ndim = t->ndim;
        for (int d = 0; d < t->ndim; d++) ts[nt].shape[d] = t->shape[d];
        ts[nt].data = v;
        nt++;
    }
    for (size_t i = 0; i < nextra; i++)   /* the writer refuses a name twice */
        ts[(size_t)nt + i] = extra[i];
    rc = meg_st_write(path, ts, (size_t)nt + nextra, meta, nmeta);
done:
    if (bufs)
        for (int i = 0; i < nt; i++) free(bufs[i]);
    free(bufs);
    free(ts);
    return rc;
}

int meg_checkpoint_load(const meg_st_file *f, g_session *s, g_graph *g)
{
    for (int id = 0; id < g_graph_size(g); id++) {
        g_tensor *t = g_graph_node(g, id);
        if (!persistent(t)) continue;
        int64_t shape[G_MAX_DIMS];
        for (int d = 0; d < t->ndim; d++) shape[d] = t->shape[d];
        const float *data;
        if (meg_st_get(f, t->name, t->ndim, shape, &data)) return -1;
        if (g_session_write(s, t, data)) return -1;
    }
    return 0;
}
