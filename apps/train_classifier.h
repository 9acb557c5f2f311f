/* train_classifier.h: meg-train --model classifier (train_classifier.c). */
#ifndef MEG_APPS_TRAIN_CLASSIFIER_H
#define MEG_APPS_TRAIN_CLASSIFIER_H

/* The whole program for that model: its options, its exit status. */
int train_classifier_main(int argc, char **argv);

#endif
