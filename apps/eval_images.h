/* eval_images.h: meg-eval images (eval_images.c). */
#ifndef MEG_APPS_EVAL_IMAGES_H
#define MEG_APPS_EVAL_IMAGES_H

/* The whole command: its options (argv[1] is "images"), its exit status. */
int eval_images_main(int argc, char **argv);

#endif
