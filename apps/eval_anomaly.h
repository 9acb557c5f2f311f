/* eval_anomaly.h: `meg-eval anomaly`, a tabular MEG model's energy as an
 * anomaly score on its test split. Apps only. */
#ifndef MEG_APPS_EVAL_ANOMALY_H
#define MEG_APPS_EVAL_ANOMALY_H

int eval_anomaly_main(int argc, char **argv);

#endif
