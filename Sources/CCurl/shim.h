// libcurl for Swift: curl_easy_setopt, curl_easy_getinfo and curl_multi_setopt are variadic, so
// Swift cannot call them. One wrapper per argument type keeps the type of each option explicit.
#ifndef RETL_CURL_SHIM_H
#define RETL_CURL_SHIM_H
#include <curl/curl.h>

typedef size_t (*retl_curl_data_callback)(char *_Nonnull data, size_t size, size_t count, void *_Nullable context);

static inline CURLcode retl_curl_set_long(CURL *_Nonnull curl, CURLoption option, long value) {
    return curl_easy_setopt(curl, option, value);
}
static inline CURLcode retl_curl_set_offset(CURL *_Nonnull curl, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(curl, option, value);
}
static inline CURLcode retl_curl_set_string(CURL *_Nonnull curl, CURLoption option, const char *_Nullable value) {
    return curl_easy_setopt(curl, option, value);
}
static inline CURLcode retl_curl_set_pointer(CURL *_Nonnull curl, CURLoption option, void *_Nullable value) {
    return curl_easy_setopt(curl, option, value);
}
static inline CURLcode retl_curl_set_slist(CURL *_Nonnull curl, CURLoption option, struct curl_slist *_Nullable list) {
    return curl_easy_setopt(curl, option, list);
}
static inline CURLcode retl_curl_set_callback(CURL *_Nonnull curl, CURLoption option,
                                              retl_curl_data_callback _Nullable callback) {
    return curl_easy_setopt(curl, option, callback);
}

static inline CURLcode retl_curl_get_long(CURL *_Nonnull curl, CURLINFO info, long *_Nonnull value) {
    return curl_easy_getinfo(curl, info, value);
}
static inline CURLcode retl_curl_get_double(CURL *_Nonnull curl, CURLINFO info, double *_Nonnull value) {
    return curl_easy_getinfo(curl, info, value);
}
static inline CURLcode retl_curl_get_offset(CURL *_Nonnull curl, CURLINFO info, curl_off_t *_Nonnull value) {
    return curl_easy_getinfo(curl, info, value);
}
static inline CURLcode retl_curl_get_string(CURL *_Nonnull curl, CURLINFO info, char *_Nullable *_Nonnull value) {
    return curl_easy_getinfo(curl, info, value);
}

static inline CURLMcode retl_curl_multi_set_long(CURLM *_Nonnull multi, CURLMoption option, long value) {
    return curl_multi_setopt(multi, option, value);
}

#endif
