/* eval_figure.h: meg-eval figure (eval_figure.c). */
#ifndef MEG_APPS_EVAL_FIGURE_H
#define MEG_APPS_EVAL_FIGURE_H

/* The whole command: its options (argv[1] is "figure"), its exit status. */
int eval_figure_main(int argc, char **argv);

#endif
