// FaceMatch module.
