/* runlog.h: the JSON-lines log of a training run (log.jsonl) kept in step
 * with its checkpoints, shared by meg-train's models. Apps only. */
#ifndef MEG_APPS_RUNLOG_H
#define MEG_APPS_RUNLOG_H

#include <stdio.h>

/* Rows go to DIR/log.jsonl, or, for a run started over an old checkpoint,
 * to log.jsonl.new until the run's first checkpoint replaces the old one; a
 * resumed run keeps the rows its checkpoint counts. */
typedef struct runlog {
    FILE *f;
    char path[4200], pending[4216];   /* pending: the .new file until the first checkpoint */
    int is_pending;
} runlog;

/* resume: keep the first *rows rows (all when *rows < 0; *rows becomes the
 * count kept); over_old: a new run beside an old checkpoint. */
int runlog_open(runlog *lg, const char *out, int resume, int over_old, long *rows);
/* After a checkpoint: the pending log becomes the log (the rows it holds are
 * the ones the new checkpoint counts). */
int runlog_commit(runlog *lg);

#endif
