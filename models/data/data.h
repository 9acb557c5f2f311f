/* data.h: data sets for the models: one data-set type (vectors or images,
 * optional integer labels) with constructors for the generated toy 2-D sets,
 * numeric CSV files and IDX image files (MNIST, Fashion-MNIST, found by name
 * in the data folder); the StackedMNIST pools over the digits; the
 * data-space box and grid that plots and grid metrics share. The one public
 * header of models/data/.
 *
 * Errors: functions returning int give 0 on success and -1 on failure, with
 * a message (naming the file, line or set that was wrong) in rt_error()
 * (util.h). Nothing here touches the device, aborts, exits or prints.
 */
#ifndef MEG_MODELS_DATA_H
#define MEG_MODELS_DATA_H

#include <stddef.h>
#include <stdint.h>

/* ---- data sets ---------------------------------------------------------- */

#define MEG_DATA_MAX_DIMS 3

/* n examples of one shape: [D] (vectors: toy sets, tabular rows) or
 * [C, H, W] (images), stored example-major, each example row-major. */
typedef struct meg_dataset {
    char *name;               /* the toy set's name or the file's path (owned) */
    size_t n;                 /* examples */
    int ndim;                 /* 1 or 3 */
    int shape[MEG_DATA_MAX_DIMS];
    float *x;                 /* n * meg_dataset_dim() values (owned) */
    int32_t *labels;          /* n labels (owned), or NULL when the set has none */
    /* Image sets read from IDX files only (else NULL): the n * dim pixels as
     * the file holds them (owned), x[i] = meg_pixel_value(u8[i]). Kept so
     * that a set can live on the device as bytes, a quarter of its floats. */
    uint8_t *u8;
} meg_dataset;

/* Values per example: the product of the shape. */
size_t meg_dataset_dim(const meg_dataset *d);
/* Frees what the set owns and zeroes it; a zeroed set may be freed again. */
void meg_dataset_free(meg_dataset *d);

/* n points of a toy set (meg_toy_generate): shape [2], no labels. */
int meg_dataset_toy(meg_dataset *d, const char *name, size_t n, uint64_t seed);
/* A numeric CSV file (meg_csv_read) with cols columns (0: as many as the
 * first line has). label_col >= 0 (counted from 0) names a column of
 * integer labels, taken out of the values (shape [cols - 1]); -1: no labels
 * (shape [cols]).
 * Errors name the file, and the line and column where there is one. */
int meg_dataset_csv(meg_dataset *d, const char *path, size_t cols, int label_col);
/* Images from an IDX images file ([n, rows, cols] unsigned bytes, magic
 * 0x00000803) as shape [1, rows, cols], values meg_pixel_value() in [-1, 1],
 * the bytes kept in d->u8; labels from an IDX labels file ([n], magic
 * 0x00000801), each 0-9, or none when labels_path is NULL. Either file may
 * be gzipped. name is images_path. Errors name the file: a file of the
 * other kind, counts that differ, a label above 9, and meg_idx_read's. */
int meg_dataset_idx(meg_dataset *d, const char *images_path, const char *labels_path);
/* A pixel byte v as a value: the float nearest v / 255 * 2 - 1 (0 -> -1,
 * 255 -> 1), the same for every set read from bytes. */
float meg_pixel_value(uint8_t v);

/* ---- named image sets and the data folder ---------------------------------- */

/* The data folder: override when not NULL, else $MEG_DATA_DIR when set and
 * not empty, else <rt_cache_dir()>/data ($XDG_CACHE_HOME/meg/data or
 * ~/.cache/meg/data). Not created. tools/data uses the same default. */
int meg_data_dir(char *buf, size_t n, const char *override);
/* 1 for the image sets known by name: "mnist", "fashion", "stackedmnist3",
 * "stackedmnist4" (so programs tell them from toy names and paths). */
int meg_dataset_is_image_name(const char *name);
/* Those names, comma separated, for help texts and messages. */
const char *meg_dataset_image_names(void);
/* 3 or 4 for "stackedmnist3" and "stackedmnist4", 0 for any other name. */
int meg_stacked_name_k(const char *name);
/* "mnist" or "fashion", split "train" (60,000 images) or "test" (10,000),
 * from <data dir>/<name>/{train,t10k}-{images-idx3,labels-idx1}-ubyte, each
 * raw or with .gz (whichever exists; raw first), data_dir as meg_data_dir's
 * override. name is the set's name. A missing file is an error naming it
 * and the command that fetches it (tools/data NAME). The StackedMNIST names
 * are refused: their pools come from meg_stacked_new over mnist train. */
int meg_dataset_named(meg_dataset *d, const char *name, const char *split, const char *data_dir);

/* ---- IDX files ---------------------------------------------------------------
 * The format of MNIST: a big-endian magic number 0x0000TTDD (T the type,
 * 0x08 unsigned byte; D the number of dimensions), D big-endian uint32
 * sizes, then the values, row-major. */

#define MEG_IDX_MAX_DIMS 4

typedef struct meg_idx {
    int ndim;                 /* 1 to MEG_IDX_MAX_DIMS */
    uint32_t dims[MEG_IDX_MAX_DIMS];
    size_t count;             /* the product of the dims */
    uint8_t *data;            /* count bytes (owned) */
} meg_idx;

/* The whole file, raw or gzipped (told by its first bytes, 1f 8b), into
 * *out. Only type 0x08 (unsigned byte) is read, and at most 4 GiB of data.
 * Errors name the file: cannot open or read, not IDX (wrong magic), an
 * unsupported type or dimension count, dimensions too large, truncated
 * (fewer bytes than the dimensions say), trailing bytes, a corrupt or cut
 * gzip stream. On failure *out is untouched and nothing stays allocated. */
int meg_idx_read(const char *path, meg_idx *out);
void meg_idx_free(meg_idx *m);
/* "unsigned byte", "float", ... for an IDX type byte; "unknown" otherwise. */
const char *meg_idx_type_name(int type);

/* ---- StackedMNIST ---------------------------------------------------------------
 * A fixed pool of MEG_STACKED_POOL_PER_MODE x 10^k samples, each k digits of
 * a digit set (mnist train) drawn uniformly with replacement, channel j
 * holding digit j: images [k, H, W]. Its mode is the k-digit number the
 * labels spell, channel 0's the most significant digit; a generator's
 * mode histogram is compared with the pool's. The pool holds indices and
 * modes only; meg_stacked_images makes the pictures of chosen entries. */

#define MEG_STACKED_MAX_K 4
#define MEG_STACKED_POOL_PER_MODE 128
/* The seed of the pool programs use, so that every run and checkpoint sees
 * the same one. */
#define MEG_STACKED_SEED 2019u

typedef struct meg_stacked {
    size_t n;                 /* pool entries: MEG_STACKED_POOL_PER_MODE * 10^k */
    int k;                    /* digits (channels) per entry */
    int32_t *index;           /* [n, k]: entry i's channel j is digit index[i*k + j] (owned) */
    int32_t *modes;           /* [n]: entry i's mode, 0 to 10^k - 1 (owned) */
    size_t digits_n;          /* the digit set drawn from: count and size, checked on use */
    int height, width;
} meg_stacked;

/* The pool of k digits (1 to MEG_STACKED_MAX_K; 3 and 4 are the benchmark's)
 * over digits (images [1, H, W] with labels 0-9). The same (digits, k, seed)
 * gives the same pool on every machine. */
int meg_stacked_new(meg_stacked *s, const meg_dataset *digits, int k, uint64_t seed);
void meg_stacked_free(meg_stacked *s);
/* 10^k for k in 1..MEG_STACKED_MAX_K, else 0: the number of modes. */
size_t meg_stacked_modes(int k);
/* The pool's mode histogram: counts[m] entries have mode m, 10^k counts
 * summing to n. */
int meg_stacked_histogram(const meg_stacked *s, size_t *counts);
/* The images of pool entries entries[0..count) into out, [count, k, H, W]
 * floats (the digit set's values), from the digit set the pool was drawn
 * from (its count and size are checked). */
int meg_stacked_images(const meg_stacked *s, const meg_dataset *digits, const size_t *entries, size_t count,
                       float *out);

/* ---- toy 2-D data sets ---------------------------------------------------- */

#define MEG_TOY_MAX_MODES 25

/* 1 if name is "8gaussians", "25gaussians" or "swissroll", else 0. */
int meg_toy_is_known(const char *name);
/* The known names, comma separated, for help texts and messages. */
const char *meg_toy_names(void);
/* n points (x, y pairs) into xy; the same (name, seed) gives the same
 * points on every run, and point i does not depend on n. */
int meg_toy_generate(const char *name, size_t n, uint64_t seed, float *xy);
/* Mixture centres (up to MEG_TOY_MAX_MODES pairs) and the per-coordinate std,
 * in data coordinates. A set without discrete modes (swissroll) gives
 * count 0 and std 0 and succeeds. */
int meg_toy_modes(const char *name, float *centers, int *count, float *std);

/* ---- CSV ------------------------------------------------------------------ */

/* Reads a comma-separated file of numbers into a malloc'ed row-major array
 * (*rows x *cols; free() it). *cols = 0 on entry: taken from the first line;
 * otherwise every line must have exactly *cols fields. The first non-blank
 * line is a header, and skipped, when none of its fields is a number; blank
 * lines are skipped. Errors name the file and the line. */
int meg_csv_read(const char *path, size_t *cols, float **data, size_t *rows);

/* ---- KDD Cup 99 (anomaly detection) ------------------------------------------
 * The "10 percent" file of KDD Cup 1999 (UCI), raw or gzipped: lines of 41
 * comma-separated features and a label ("smurf.", "normal.", ...), no
 * header. As in the seed's protocol (its authors' code, after ALAD's):
 * - features: the 34 numeric columns in file order, then protocol_type,
 *   service, flag, land, logged_in, is_host_login and is_guest_login one-hot
 *   encoded, in that order, each block's categories sorted (byte order, as
 *   pandas.get_dummies): 34 + 3 + 66 + 11 + 2 + 2 + 1 + 2 = 121 features
 *   for the 10 percent file; land and the logins must be 0 or 1;
 * - labels: "normal." rows (about 20%) are the anomalies, label 1, every
 *   attack 0;
 * - a 50/50 split of the rows by a fixed seed (n / 2 rows train, the rest
 *   test; each half keeps the file's order); train holds only the label-0
 *   rows of the training half, test every row of the other half;
 * - min-max scaling fitted on the rows of train and applied to both (a test
 *   value may fall outside [0, 1], saturating at +-FLT_MAX); a column
 *   constant in training is only shifted by its minimum (scikit-learn's
 *   MinMaxScaler does the same). */

#define MEG_KDD99_FEATURES_RAW 41   /* columns before encoding */
#define MEG_KDD99_CAT_COLS 7        /* of them one-hot encoded */
#define MEG_KDD99_NAME_MAX 48       /* bytes of a feature name, NUL included */
#define MEG_KDD99_SEED 1999u        /* the default split seed */

/* Where the categories of the one-hot blocks come from. */
enum {
    /* every value in the file, labels unused: the authors' 121 features,
     * the same for every seed */
    MEG_KDD99_CATEGORIES_FILE = 0,
    /* the values of the rows trained on only; the count depends on the
     * seed (several services occur once) */
    MEG_KDD99_CATEGORIES_TRAIN = 1,
};

typedef struct meg_kdd99_options {
    uint64_t seed;            /* of the 50/50 split (MEG_KDD99_SEED) */
    int no_scaling;           /* 1: fit the scaling but leave values raw (the authors' code) */
    int categories;           /* MEG_KDD99_CATEGORIES_* */
} meg_kdd99_options;

typedef struct meg_kdd99_info {
    size_t rows;              /* data rows in the file */
    size_t anomalies;         /* "normal." rows among them */
    size_t train_half, test_half; /* the split: train_half = rows / 2 */
    size_t train_dropped;     /* anomalies of the training half, left out of train */
    size_t test_anomalies;    /* anomalies in test */
    int features;             /* values per row */
    int categories[MEG_KDD99_CAT_COLS]; /* one-hot columns per encoded column */
    double *min, *max;        /* [features]: the scaling fitted on train (owned) */
    char *names;              /* [features][MEG_KDD99_NAME_MAX]: "duration", "service=http" (owned) */
} meg_kdd99_info;

/* The defaults: MEG_KDD99_SEED, scaling applied, categories from the file. */
void meg_kdd99_options_default(meg_kdd99_options *o);
/* The file at path into train and test (shape [features], labels 0/1;
 * name "<path>:train" and "<path>:test"); opt NULL for the defaults; info,
 * when not NULL, gets the counts and the scaling (free it with
 * meg_kdd99_info_free). The same file and options give the same sets on
 * every machine. Errors name the file and line: a wrong field count, a
 * field that is empty, not a number, not finite, not 0/1 or not a category
 * name, a label not of the form "name.", a NUL byte or an overlong line, a
 * corrupt or truncated gzip stream; also a file without data rows, and a
 * training half without attack rows. On failure nothing stays allocated,
 * the sets are zeroed and info is left alone. */
int meg_dataset_kdd99(meg_dataset *train, meg_dataset *test, const char *path, const meg_kdd99_options *opt,
                      meg_kdd99_info *info);
/* Feature j's name ("" outside 0..features-1). */
const char *meg_kdd99_feature_name(const meg_kdd99_info *info, int j);
void meg_kdd99_info_free(meg_kdd99_info *info);

/* The seeded 50/50 split that KDD Cup 99 and CSV tables share: in_train[i]
 * = 1 for the n / 2 rows a Fisher-Yates shuffle (splitmix64 from seed)
 * puts first, 0 for the others. The same (n, seed) gives the same split on
 * every machine. */
int meg_split_half(size_t n, uint64_t seed, uint8_t *in_train);
/* The CSV readers' cells (csv.c): s trimmed of spaces, tabs and line ends
 * at both sides; s cut in place at its commas into *cells (grown as needed,
 * *cap its capacity), each cell trimmed: the count, or 0 out of memory. */
char *meg_csv_trim(char *s);
size_t meg_csv_cells(char *s, char ***cells, size_t *cap);
/* Uniform in [0, n) (n >= 1) from the splitmix64 stream of *st (graph.h),
 * rejecting the 2^64 mod n lowest draws so that every index is equally
 * likely: the shuffles of the seeded splits. */
size_t meg_uniform_index(uint64_t *st, size_t n);

/* ---- CSV tables of the user's own features (anomaly detection) -----------------
 * A file whose first line names the columns and whose every other line
 * holds one number per column: comma separated, spaces around a field
 * ignored, "\n" or "\r\n" line ends, blank lines skipped, a UTF-8 byte
 * order mark and double quotes around a header name dropped (no quoted
 * commas). Every cell must be a finite number within float range. */

typedef struct meg_csv_table {
    size_t rows;              /* data rows */
    int cols;                 /* columns, as the header names them */
    char **names;             /* [cols] header names (owned) */
    size_t *lines;            /* [rows] each row's line in the file, for messages (owned) */
    double *v;                /* [rows, cols] the values as read (owned) */
} meg_csv_table;

/* The whole file at path into *t. Errors name the file, and the line and
 * column (its number from 1 and its name) where there is one: a cell that
 * is empty, not a number, not finite or out of float range, a row with
 * fewer or more cells than the header, a NUL byte, a line longer than
 * 16 MiB; an empty file or a header without data rows. On failure *t is
 * zeroed and nothing stays allocated. */
int meg_csv_table_read(const char *path, meg_csv_table *t);
void meg_csv_table_free(meg_csv_table *t);
/* The index of the one column named name; -1 with the message set (naming
 * path) when no column or more than one has that name. */
int meg_csv_table_column(const meg_csv_table *t, const char *path, const char *name);

/* A table as the sets of the anomaly-detection protocol (KDD Cup 99's):
 * - with a label column (opt->label: 0 normal, 1 anomaly): the seeded
 *   50/50 split (meg_split_half), train the label-0 rows of the training
 *   half, test every row of the other half (labels kept), each in file order;
 * - without one: train every row, test empty (n 0), no labels;
 * - the features, every other column in file order, min-max scaled:
 *   (x - min) / range with min and range floats fitted on train (a column
 *   constant there gets range 1, so it maps to 0; a range past FLT_MAX is
 *   capped, so such a column spans up to [0, 2]; a value outside
 *   saturates at +-FLT_MAX), or the scaling given in opt (a checkpoint's,
 *   to score other files as the model was trained), or none (no_scaling).
 * The float min and range are what is applied, so a scaling saved and
 * given back scales a file exactly as fitting it did. */
#define MEG_CSV_SEED 1999u          /* the split seed, KDD Cup 99's */

typedef struct meg_tabular_options {
    const char *label;        /* the label column's name; NULL or "": none */
    uint64_t seed;            /* of the split (MEG_CSV_SEED) */
    int no_scaling;           /* 1: fit the scaling, leave the values raw */
    int scale_n;              /* > 0: apply scale_min, scale_range (scale_n features) instead of fitting */
    const float *scale_min, *scale_range;
} meg_tabular_options;

typedef struct meg_tabular_info {
    size_t rows;              /* data rows in the file */
    size_t anomalies;         /* rows labelled 1 */
    size_t train_half, test_half; /* with a label: the split, train_half = rows / 2 */
    size_t train_dropped;     /* anomalies of the training half, left out of train */
    size_t test_anomalies;
    int features;
    float *min, *range;       /* [features] the scaling fitted or given (owned) */
} meg_tabular_info;

/* The defaults: MEG_CSV_SEED, no label, scaling fitted and applied. */
void meg_tabular_options_default(meg_tabular_options *o);
/* The CSV table at path into train and test (names "<path>:train",
 * "<path>:test"); opt NULL for the defaults; info, when not NULL, gets the
 * counts and the scaling (meg_tabular_info_free). Errors name the file:
 * meg_csv_table_read's; a label column that is missing, named twice or the
 * only column; a label other than 0 or 1 (with its line); fewer than 2 rows
 * to split; a training half without normal rows; a given scaling for
 * another number of features (both counts). On failure the sets are zeroed,
 * info is left alone and nothing stays allocated. */
int meg_dataset_tabular(meg_dataset *train, meg_dataset *test, const char *path, const meg_tabular_options *opt,
                        meg_tabular_info *info);
void meg_tabular_info_free(meg_tabular_info *info);
/* A saved scaling (min, range: features floats each) applied to the raw
 * features of d, as meg_dataset_tabular applies it: for sets read with
 * no_scaling. Errors name d: another number of features (both counts), a
 * min or range that is not finite, a range not above 0. */
int meg_tabular_scale(meg_dataset *d, const float *min, const float *range, int features);

/* ---- MNIST with one digit held out (anomaly detection) ------------------------
 * For a held-out digit d: the normal class is every other digit. Of the
 * images of a and b (say mnist train and test; b may be NULL) with labels
 * 0-9, the normals are split by a fixed seed, 80% (floor(4n/5)) into train
 * and the rest into test, and every image of d goes to test. Labels become
 * 0 (normal) and 1 (the digit d); each set keeps the order of a then b;
 * pixels and the bytes (u8, when both sources have them) are copied. */
#define MEG_HELDOUT_SEED 2019u

int meg_dataset_heldout_digit(meg_dataset *train, meg_dataset *test, const meg_dataset *a, const meg_dataset *b,
                              int digit, uint64_t seed);

/* ---- data-space boxes and grids ------------------------------------------
 * The rectangle of the 2-D data space that plots show and density grids
 * cover; it lives here because the data sets define it (meg_toy_box), and
 * plots (io.h) and grid metrics (metrics.h) both take it. */

typedef struct meg_box {
    double xmin, xmax, ymin, ymax;
} meg_box;

/* A box that holds the toy set with a small border, for plots and grids. */
int meg_toy_box(const char *name, meg_box *box);

/* Grid convention used by heat maps and grid metrics: cell (i, j), i < nx
 * along x and j < ny along y, is element j*nx + i; its centre is
 * (xmin + (i + 0.5) * dx, ymin + (j + 0.5) * dy), so row 0 is the bottom. */

/* Writes the nx*ny cell centres, (x, y) pairs in grid order, into xy. */
int meg_grid_points(meg_box box, int nx, int ny, float *xy);

#endif
