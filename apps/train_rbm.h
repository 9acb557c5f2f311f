/* train_rbm.h: meg-train --model rbm (train_rbm.c). */
#ifndef MEG_APPS_TRAIN_RBM_H
#define MEG_APPS_TRAIN_RBM_H

/* The whole program for that model: its options, its exit status. */
int train_rbm_main(int argc, char **argv);

#endif
