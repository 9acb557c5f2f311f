/* eval_curves.h: meg-eval curves (eval_curves.c). */
#ifndef MEG_APPS_EVAL_CURVES_H
#define MEG_APPS_EVAL_CURVES_H

/* The whole command: its options (argv[1] is "curves"), its exit status. */
int eval_curves_main(int argc, char **argv);

#endif
