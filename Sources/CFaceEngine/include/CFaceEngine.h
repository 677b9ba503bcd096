#ifndef ENROLLD_CFACEENGINE_H
#define ENROLLD_CFACEENGINE_H
#ifdef __cplusplus
extern "C" {
#endif
/* Placeholder: the face engine lands with the face-match issue. */
int enrolld_face_engine_version(void);
#ifdef __cplusplus
}
#endif
#endif
